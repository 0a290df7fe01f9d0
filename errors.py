"""The project's error types, at the bottom of the import graph: every layer imports them from here.

ConfigError is the one error for bad input. Its subclasses only say which part of the world the
input concerns; the `adls` command prints any of them as one line and exits with status 2.
This module imports nothing, so the command line can catch these without importing torch or Ray.
"""


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the field, the value and what is allowed.

    The CLI prints it as one line and exits with status 2, so the message must be
    self-contained and must not rely on a traceback.
    """


class DataError(ConfigError):
    """A dataset, folder or tokenizer is missing or unusable; the message is one self-contained line.

    A ConfigError because the fix is always something the user supplies.
    """


class ClusterError(ConfigError):
    """Something about reaching a cluster is wrong; the message says what and how to fix it."""


class ResultsError(ValueError):
    """A results folder is missing, unreadable or not an experiment's; the message says what to do."""
