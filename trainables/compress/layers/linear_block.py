"""LinearBlockFP, LinearBlockMinifloat, LinearBlockLog: MASE's block formats, one shared field per block.

Every tensor takes `<tensor>_block_size` (MASE's rule, see formats/blocking.py). Activations are
blocked per batch item unless `data_in_skip_first_dim` is false; weights and biases never skip.
`weight_bits()` counts each element's bits plus the shared field of every weight block;
`input_bits_per_token()` does the same for one token's input vector (blocked by the block size's
last entry, as a token's features are).
"""

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar

import torch

from trainables.compress.arithmetic.blocking import block_layout
from trainables.compress.config_checks import (
    MAX_EXPONENT_WIDTH,
    MAX_WIDTH,
    optional_exponent_bias,
    optional_flag,
    require_block_size,
    require_exponent_width,
    require_int,
)
from trainables.compress.formats.block_fp import block_fp_quantize
from trainables.compress.formats.block_log import block_log_quantize
from trainables.compress.formats.block_minifloat import block_minifloat_quantize
from trainables.compress.formats.mase_exact import (
    mase_block_fp_quantize,
    mase_block_log_quantize,
    mase_block_minifloat_quantize,
)
from trainables.compress.layers.linear_log import MAX_LOG_WIDTH
from trainables.compress.layers.quantized_linear import TENSORS, QuantizedLinear, Quantizer
from trainables.compress.mase_mode import is_mase_exact
from trainables.compress.number_format import (
    BLOCKS_16,
    FigureStyle,
    NumberFormat,
    PrecisionSpace,
    every_tensor,
    per_tensor,
)


class _BlockLinear(QuantizedLinear):
    """Shared plumbing: block size, the data_in batch skip, and bits = element bits + block fields."""

    quantize: ClassVar[Callable[..., torch.Tensor]]
    # MASE's arithmetic, used when the config sets `mase_exact` (see mase_mode.py).
    mase_quantize: ClassVar[Callable[..., torch.Tensor]]
    # The config key holding the bits of the per-block shared field.
    shared_field_key: ClassVar[str]

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        optional_flag(config, "data_in_skip_first_dim", layer_name, default=True)
        for tensor in TENSORS:
            cls.check_element_format(config, tensor, layer_name)
            require_block_size(config, f"{tensor}_block_size", layer_name)

    @classmethod
    def check_element_format(cls, config: Mapping[str, Any], tensor: str, layer_name: str) -> None:
        """Validate the per-element keys of `tensor` (all but the block size)."""
        raise NotImplementedError

    def format_arguments(self, tensor: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments of `quantize` for `tensor`, block size and skip excluded."""
        raise NotImplementedError

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        skip = tensor == "data_in" and optional_flag(config, "data_in_skip_first_dim", self.layer_name, True)
        quantize = type(self).mase_quantize if is_mase_exact(config, self.layer_name) else type(self).quantize
        return partial(
            quantize,
            block_size=require_block_size(config, f"{tensor}_block_size", self.layer_name),
            skip_first_dim=skip,
            **self.format_arguments(tensor, config),
        )

    def weight_bits(self) -> float:
        layout = block_layout(self.weight.shape, self.config["weight_block_size"])
        return float(
            int(self.config["weight_width"]) * self.weight.numel()
            + int(self.config[self.shared_field_key]) * layout.num_blocks
        )

    def input_bits_per_token(self) -> float:
        layout = block_layout((self.in_features,), self.config["data_in_block_size"])
        shared = self.shared_field_key.replace("weight_", "data_in_", 1)
        return float(
            int(self.config["data_in_width"]) * self.in_features
            + int(self.config[shared]) * layout.num_blocks
        )


class LinearBlockFP(_BlockLinear):
    """Block floating point (`name: block_fp`): `<tensor>_width` (sign + mantissa), `_exponent_width`
    (the shared exponent), `_exponent_bias` (absent or None: 2^(E-1) - 1), `_block_size`."""

    format_name = "block_fp"
    quantize = staticmethod(block_fp_quantize)
    mase_quantize = staticmethod(mase_block_fp_quantize)
    shared_field_key = "weight_exponent_width"

    @classmethod
    def check_element_format(cls, config: Mapping[str, Any], tensor: str, layer_name: str) -> None:
        require_int(config, f"{tensor}_width", layer_name, 2, MAX_WIDTH)
        require_int(config, f"{tensor}_exponent_width", layer_name, 1, MAX_EXPONENT_WIDTH)
        optional_exponent_bias(config, f"{tensor}_exponent_bias", layer_name)

    def format_arguments(self, tensor: str, config: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "width": int(config[f"{tensor}_width"]),
            "exponent_width": int(config[f"{tensor}_exponent_width"]),
            "exponent_bias": optional_exponent_bias(config, f"{tensor}_exponent_bias", self.layer_name),
        }


class LinearBlockMinifloat(_BlockLinear):
    """Block minifloat (`name: block_minifloat`): `<tensor>_width`, `_exponent_width`,
    `_exponent_bias_width` (the shared per-block bias), `_block_size`."""

    format_name = "block_minifloat"
    quantize = staticmethod(block_minifloat_quantize)
    mase_quantize = staticmethod(mase_block_minifloat_quantize)
    shared_field_key = "weight_exponent_bias_width"

    @classmethod
    def check_element_format(cls, config: Mapping[str, Any], tensor: str, layer_name: str) -> None:
        width = require_int(config, f"{tensor}_width", layer_name, 2, MAX_WIDTH)
        require_exponent_width(config, tensor, layer_name, width, min_mantissa_bits=0)
        require_int(config, f"{tensor}_exponent_bias_width", layer_name, 1, MAX_EXPONENT_WIDTH)

    def format_arguments(self, tensor: str, config: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "width": int(config[f"{tensor}_width"]),
            "exponent_width": int(config[f"{tensor}_exponent_width"]),
            "exponent_bias_width": int(config[f"{tensor}_exponent_bias_width"]),
        }


class LinearBlockLog(_BlockLinear):
    """Block log (`name: block_log`): `<tensor>_width` (sign + exponent), `_exponent_bias_width`
    (the shared per-block bias), `_block_size`. No zero, as in `log`."""

    format_name = "block_log"
    quantize = staticmethod(block_log_quantize)
    mase_quantize = staticmethod(mase_block_log_quantize)
    shared_field_key = "weight_exponent_bias_width"

    @classmethod
    def check_element_format(cls, config: Mapping[str, Any], tensor: str, layer_name: str) -> None:
        require_int(config, f"{tensor}_width", layer_name, 2, MAX_LOG_WIDTH)
        require_int(config, f"{tensor}_exponent_bias_width", layer_name, 1, MAX_EXPONENT_WIDTH)

    def format_arguments(self, tensor: str, config: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "width": int(config[f"{tensor}_width"]),
            "exponent_bias_width": int(config[f"{tensor}_exponent_bias_width"]),
        }


# The examples' blocks of 16 features, the batch dimension of the input skipped explicitly.
_BLOCKS = {**BLOCKS_16, "data_in_skip_first_dim": True}

FORMATS = (
    NumberFormat(
        LinearBlockFP,
        example={
            "name": "block_fp",
            **every_tensor(width=8, exponent_width=8, exponent_bias=None),
            **_BLOCKS,
        },
        space=PrecisionSpace(
            {"width": per_tensor("width", (4, 6, 8))},
            {**every_tensor(exponent_width=8, exponent_bias=None), **_BLOCKS},
            note="8-bit shared exponent per block of 16",
        ),
        order=4,
        style=FigureStyle("#9467bd", "v", "-"),
    ),
    NumberFormat(
        LinearBlockMinifloat,
        example={
            "name": "block_minifloat",
            **every_tensor(width=8, exponent_width=4, exponent_bias_width=8),
            **_BLOCKS,
        },
        space=PrecisionSpace(
            {"width": per_tensor("width", (6, 8)), "exponent_width": per_tensor("exponent_width", (2, 3, 4))},
            {**every_tensor(exponent_bias_width=8), **_BLOCKS},
            note="8-bit shared bias per block of 16",
        ),
        order=5,
        style=FigureStyle("#8c564b", "P", "--"),
    ),
    NumberFormat(
        LinearBlockLog,
        example={"name": "block_log", **every_tensor(width=8, exponent_bias_width=8), **_BLOCKS},
        space=PrecisionSpace(
            {"width": per_tensor("width", (3, 4, 5))},
            {**every_tensor(exponent_bias_width=8), **_BLOCKS},
            note="8-bit shared bias per block of 16; no zero",
        ),
        order=6,
        style=FigureStyle("#e377c2", "X", "-."),
    ),
)
