"""Compression library: number formats, quantized Linear layers, pruning, cost. Pure PyTorch."""

from trainables.compress.cost import model_cost
from trainables.compress.errors import ConfigError
from trainables.compress.prune import attach_pruning_hooks, prune_model
from trainables.compress.quantize import quantize_model
from trainables.compress.registry import LINEAR_FORMATS

__all__ = [
    "ConfigError",
    "LINEAR_FORMATS",
    "attach_pruning_hooks",
    "model_cost",
    "prune_model",
    "quantize_model",
]
