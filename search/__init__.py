"""Named experiments, search spaces, samplers, the Tuner runner, stage chaining and results storage."""
