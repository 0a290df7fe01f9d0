"""Keep Ray's and Optuna's chatter out of a run's output unless --verbose asks for it.

What is silenced on the driver: Optuna's INFO lines (`A new study created ...`, one per trial)
and Ray's notice that token authentication is enabled (shown when a local cluster turns it on;
the warning that authentication is *disabled* stays). On the workers the Ray adapter silences
Tune's `Checkpoint successfully created` lines (see trainables.ray_adapter), which also removes
the "Ray deduplicates logs" banner those repeated lines caused.
"""

import logging

TOKEN_SETUP_LOGGER = "ray._private.authentication.authentication_token_setup"
TOKEN_ENABLED_NOTICE = "Token authentication is enabled for this Ray cluster"


class _DropTokenEnabledNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(TOKEN_ENABLED_NOTICE)


_FILTER = _DropTokenEnabledNotice()


def quiet_driver(verbose: bool) -> None:
    """Silence the driver-side noise (or bring it back with `verbose`); call before ray.init."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    logger = logging.getLogger(TOKEN_SETUP_LOGGER)
    if verbose:
        logger.removeFilter(_FILTER)
    else:
        logger.addFilter(_FILTER)
