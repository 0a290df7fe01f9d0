"""The data layer's error: a dataset or tokenizer cannot be had, said in one line."""

from trainables.compress.errors import ConfigError


class DataError(ConfigError):
    """A dataset, folder or tokenizer is missing or unusable; the message is one self-contained line.

    It subclasses ConfigError so the CLI prints it as one line and exits with status 2,
    exactly like a bad configuration value: the fix is always something the user supplies.
    """
