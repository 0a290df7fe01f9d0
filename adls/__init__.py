"""The `adls` command line, the top of the import graph: it parses arguments and calls search/ and cluster/.

Nothing below this package imports it.
"""
