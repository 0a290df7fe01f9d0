"""Early stopping of trials: Ray Tune's ASHA (`asha`), synchronous halving (`sync_halving`) and its
stored batches (`halving_state`), and the factory that picks one from `--scheduler` (`early_stopping`)."""
