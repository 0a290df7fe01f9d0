"""Compression library: number formats, quantized Linear layers, pruning, cost. Pure PyTorch."""

from trainables.compress.errors import ConfigError
from trainables.compress.quantize import quantize_model
from trainables.compress.registry import LINEAR_FORMATS

__all__ = ["ConfigError", "LINEAR_FORMATS", "quantize_model"]
