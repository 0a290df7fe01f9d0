"""ClusterError: a cluster is unreachable, refuses us, or does not know what we asked for."""

from trainables.compress.errors import ConfigError


class ClusterError(ConfigError):
    """Something about reaching a cluster is wrong; the message says what and how to fix it.

    A ConfigError, so the `adls` command prints it as one line and exits with status 2.
    """
