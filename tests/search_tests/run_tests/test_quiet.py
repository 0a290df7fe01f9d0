"""Ray's token-auth notice is dropped unless verbose; its warning that auth is disabled never is."""

import logging

from search.run.quiet import TOKEN_SETUP_LOGGER, quiet_driver


def test_the_enabled_notice_goes_and_comes_back_with_verbose(caplog):
    logger = logging.getLogger(TOKEN_SETUP_LOGGER)
    try:
        quiet_driver(verbose=False)
        with caplog.at_level(logging.WARNING, logger=TOKEN_SETUP_LOGGER):
            logger.warning("Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=...")
            logger.warning("Token authentication is disabled for this Ray cluster. Anyone with ...")
        assert [r.getMessage()[:40] for r in caplog.records] == ["Token authentication is disabled for thi"]
        caplog.clear()
        quiet_driver(verbose=True)
        with caplog.at_level(logging.WARNING, logger=TOKEN_SETUP_LOGGER):
            logger.warning("Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=...")
        assert len(caplog.records) == 1
    finally:
        quiet_driver(verbose=False)
