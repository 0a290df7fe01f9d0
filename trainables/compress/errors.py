"""The one error type that every layer raises for a bad configuration."""


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the field, the value and what is allowed.

    The CLI prints it as one line and exits with status 2, so the message must be
    self-contained and must not rely on a traceback.
    """
