"""What one trial does: trial functions (`trials`), models and checkpoints (`models`), data (`data`),
the training loop, the trial context and the one adapter to Ray (`ray_adapter`); `compress` is pure PyTorch."""
