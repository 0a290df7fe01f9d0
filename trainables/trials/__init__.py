"""The trial functions, one module per experiment: a plain config dict in, metrics out (no Ray)."""
