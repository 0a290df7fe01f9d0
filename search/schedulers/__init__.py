"""Early stopping of trials: Ray Tune's ASHA (`asha`), synchronous halving (`sync_halving`) and the
factory that picks one from `--scheduler` (`early_stopping`)."""
