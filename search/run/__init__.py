"""One Tune search of a run: the Tuner (`tuner`), resume from trial folders (and `sha` batches: `halving_resume`), the results table, which checkpoints stay,
progress and launch order, the one-writer lock, Tune callbacks, Ctrl-C and quiet output."""
