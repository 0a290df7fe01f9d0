"""Number formats: one quantizer function per MASE format, pure PyTorch."""
