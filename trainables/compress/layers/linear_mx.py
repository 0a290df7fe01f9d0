"""LinearMXInt and LinearMXFP: MASE's microscaling Linears (`name: mxint`, `name: mxfp`).

MASE's keys: `weight_block_size` (consecutive elements of a row sharing one 8-bit scale) and the
element keys are required; `data_in_*` and `bias_*` are optional and, as in MASE, a tensor is
quantized only when its block size and element keys are all given (else it stays fp32).
`bypass: true` leaves the whole layer in fp32. MASE's `gptq` and `clip_search` need calibration
or a clipping search that this library does not run, so they must be false when present.
MASE's layers are inference-only (weights quantized once at load, forward under no_grad); these
fake-quantize in every forward and train with straight-through gradients.
`weight_bits()` = element bits * elements + 8 * blocks (padded tail blocks included);
`input_bits_per_token()` likewise for one token's input vector, 32 bits a value when unquantized.
"""

from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar

from errors import ConfigError
from trainables.compress.arithmetic.mx_blocks import MXBlocks
from trainables.compress.config_checks import MAX_WIDTH, optional_flag, require_int
from trainables.compress.formats.mxfp import MXFP_ELEMENT_TYPES, mxfp_quantize
from trainables.compress.formats.mxint import MX_SCALE_BITS, mxint_quantize
from trainables.compress.layers.quantized_linear import FP32_BITS, TENSORS, QuantizedLinear, Quantizer
from trainables.compress.mase_mode import is_mase_exact
from trainables.compress.number_format import (
    FigureStyle,
    NumberFormat,
    PrecisionSpace,
    every_tensor,
    mx_element_knob,
    per_tensor,
)

UNSUPPORTED_FLAGS = ("gptq", "clip_search")


class _MXLinear(QuantizedLinear):
    """Shared plumbing: which tensors are quantized, block size, bypass, bits per weight."""

    element_keys: ClassVar[tuple[str, ...]]

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        optional_flag(config, "bypass", layer_name, default=False)
        for flag in UNSUPPORTED_FLAGS:
            if optional_flag(config, flag, layer_name, default=False):
                raise ConfigError(
                    f"layer {layer_name!r}: {flag}=true is not supported (MASE's calibration/clipping "
                    f"search); remove it or set it to false"
                )
        for tensor in TENSORS:
            if tensor == "weight" or cls.is_quantized(config, tensor):
                require_int(config, f"{tensor}_block_size", layer_name, 1, 2**16)
                cls.check_elements(config, tensor, layer_name)

    @classmethod
    def is_quantized(cls, config: Mapping[str, Any], tensor: str) -> bool:
        """MASE's rule: a tensor is quantized when its block size and element keys are all set."""
        keys = (f"{tensor}_block_size", *(f"{tensor}_{key}" for key in cls.element_keys))
        return all(config.get(key) is not None for key in keys)

    @classmethod
    def check_elements(cls, config: Mapping[str, Any], tensor: str, layer_name: str) -> None:
        """Validate the element keys of `tensor`."""
        raise NotImplementedError

    def element_bits(self, tensor: str = "weight") -> int:
        """Bits of one element of `tensor` (the shared scale not included)."""
        raise NotImplementedError

    def bypassed(self) -> bool:
        return optional_flag(self.config, "bypass", self.layer_name, default=False)

    def weight_bits(self) -> float:
        if self.bypassed():
            return 32.0 * self.weight.numel()
        blocks = MXBlocks(self.weight.shape, int(self.config["weight_block_size"]))
        return float(self.element_bits() * self.weight.numel() + MX_SCALE_BITS * blocks.num_blocks)

    def input_bits_per_token(self) -> float:
        if self.quantizers["data_in"] is None:
            return float(FP32_BITS * self.in_features)
        blocks = MXBlocks((self.in_features,), int(self.config["data_in_block_size"]))
        return float(self.element_bits("data_in") * self.in_features + MX_SCALE_BITS * blocks.num_blocks)


class LinearMXInt(_MXLinear):
    """MXINT (`name: mxint`): `<tensor>_width` (element bits, two's complement), `<tensor>_block_size`."""

    format_name = "mxint"
    element_keys = ("width",)

    @classmethod
    def check_elements(cls, config: Mapping[str, Any], tensor: str, layer_name: str) -> None:
        require_int(config, f"{tensor}_width", layer_name, 2, MAX_WIDTH)

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        if self.bypassed() or not self.is_quantized(config, tensor):
            return None
        return partial(
            mxint_quantize,
            width=int(config[f"{tensor}_width"]),
            block_size=int(config[f"{tensor}_block_size"]),
            mase_exact=is_mase_exact(config, self.layer_name),
        )

    def element_bits(self, tensor: str = "weight") -> int:
        return int(self.config[f"{tensor}_width"])


class LinearMXFP(_MXLinear):
    """MXFP (`name: mxfp`): `<tensor>_exponent_width` and `<tensor>_frac_width` (one of MASE's
    pairs E4M3, E5M2, E2M3, E3M2, E2M1, E1M2), `<tensor>_block_size`."""

    format_name = "mxfp"
    element_keys = ("exponent_width", "frac_width")

    @classmethod
    def check_elements(cls, config: Mapping[str, Any], tensor: str, layer_name: str) -> None:
        exponent = require_int(config, f"{tensor}_exponent_width", layer_name, 1, 5)
        frac = require_int(config, f"{tensor}_frac_width", layer_name, 1, 3)
        if (exponent, frac) not in MXFP_ELEMENT_TYPES:
            allowed = ", ".join(f"E{e}M{m}" for e, m in MXFP_ELEMENT_TYPES)
            raise ConfigError(
                f"layer {layer_name!r}: {tensor}_exponent_width={exponent}, {tensor}_frac_width={frac} "
                f"(E{exponent}M{frac}) is not an MX element type; choose one of {allowed}"
            )

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        if self.bypassed() or not self.is_quantized(config, tensor):
            return None
        return partial(
            mxfp_quantize,
            exponent_width=int(config[f"{tensor}_exponent_width"]),
            frac_width=int(config[f"{tensor}_frac_width"]),
            block_size=int(config[f"{tensor}_block_size"]),
            mase_exact=is_mase_exact(config, self.layer_name),
        )

    def element_bits(self, tensor: str = "weight") -> int:
        return 1 + int(self.config[f"{tensor}_exponent_width"]) + int(self.config[f"{tensor}_frac_width"])


# OCP's MXINT8 and MXFP8 (E4M3) as examples: one 8-bit power-of-two scale per 32 consecutive elements.
FORMATS = (
    NumberFormat(
        LinearMXInt,
        example={"name": "mxint", **every_tensor(width=8, block_size=32)},
        space=PrecisionSpace(
            {"width": per_tensor("width", (4, 6, 8))},
            every_tensor(block_size=32),
            note="OCP MXINT: 8-bit power-of-two scale per 32 elements of a row",
        ),
        order=10,
        style=FigureStyle("#556b2f", "p", ":"),
    ),
    NumberFormat(
        LinearMXFP,
        example={"name": "mxfp", **every_tensor(exponent_width=4, frac_width=3, block_size=32)},
        space=PrecisionSpace(
            {"element": mx_element_knob(("E4M3", "E5M2", "E3M2", "E2M3", "E2M1"))},
            every_tensor(block_size=32),
            note="OCP MXFP8/6/4: 8-bit power-of-two scale per 32 elements of a row",
        ),
        order=11,
        style=FigureStyle("#000080", "d", "-"),
    ),
)
