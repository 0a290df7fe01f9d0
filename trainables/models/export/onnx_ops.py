"""Torch functions that export to standard ONNX operators (QuantizeLinear, DequantizeLinear, TopK).

Each is an autograd.Function whose `forward` computes in PyTorch exactly what its `symbolic`
emits, for the TorchScript-based `torch.onnx.export(..., dynamo=False)`. Integer types follow the
width: int8 up to 8 bits, int16 up to 16 (QuantizeLinear needs opset 21 for int16). Scales are
2^-frac_width, zero points 0.
"""

import math

import torch

QDQ_MAX_WIDTH = 16  # QuantizeLinear's widest signed integer output (int16)
# Stored integer weights and biases: up to int16. DequantizeLinear reads int32 too, but ONNX Runtime
# 1.32's graph optimizer turns an int32 DequantizeLinear feeding Gemm into an invalid QuantizeLinear.
DQ_MAX_WIDTH = 16


def integer_dtype(width: int) -> torch.dtype:
    """The smallest signed integer type holding `width` bits (up to 32)."""
    if width <= 8:
        return torch.int8
    if width <= 16:
        return torch.int16
    if width <= 32:
        return torch.int32
    raise ValueError(f"width {width} exceeds int32")


def _constants(g, frac_width: int, dtype: torch.dtype):
    scale = g.op("Constant", value_t=torch.tensor(2.0**-frac_width, dtype=torch.float32))
    zero = g.op("Constant", value_t=torch.tensor(0, dtype=dtype))
    return scale, zero


class FixedPointQDQ(torch.autograd.Function):
    """x -> [Clip] -> QuantizeLinear -> DequantizeLinear: signed fixed point, `width` <= 16.

    Widths other than 8 and 16 clip to the format's range first (grid points, so clipping before
    rounding equals clamping after), then quantize to int8 / int16.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, width: int, frac_width: int) -> torch.Tensor:
        limit = 2 ** (width - 1)
        return torch.round(x * 2.0**frac_width).clamp(-limit, limit - 1) * 2.0**-frac_width

    @staticmethod
    def symbolic(g, x, width: int, frac_width: int):
        scale, zero = _constants(g, frac_width, integer_dtype(width))
        if width not in (8, 16):
            limit = 2 ** (width - 1)
            low = g.op("Constant", value_t=torch.tensor(-limit * 2.0**-frac_width, dtype=torch.float32))
            high = g.op("Constant", value_t=torch.tensor((limit - 1) * 2.0**-frac_width, dtype=torch.float32))
            x = g.op("Clip", x, low, high)
        return g.op("DequantizeLinear", g.op("QuantizeLinear", x, scale, zero), scale, zero)


class IntegerDequantize(torch.autograd.Function):
    """A stored integer tensor (int8/16/32) -> DequantizeLinear(scale 2^-frac_width) -> float."""

    @staticmethod
    def forward(ctx, values: torch.Tensor, frac_width: int) -> torch.Tensor:
        return values.to(torch.float32) * 2.0**-frac_width

    @staticmethod
    def symbolic(g, values, frac_width: int):
        dtype = {"Char": torch.int8, "Short": torch.int16, "Int": torch.int32}[values.type().scalarType()]
        scale, zero = _constants(g, frac_width, dtype)
        return g.op("DequantizeLinear", values, scale, zero)


class PruneBelowQuantile(torch.autograd.Function):
    """Zero every entry with |x| <= the k-th smallest |x| of the whole tensor, k = floor(s (n - 1)) + 1.

    The rule of our `l1-norm` activation pruning (MASE's torch.quantile threshold), with `n` read
    from the tensor's shape at run time, so any batch and sequence length work.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, sparsity: float) -> torch.Tensor:
        if x.numel() == 0:
            return x
        scores = x.abs()
        k = math.floor(sparsity * (scores.numel() - 1)) + 1
        threshold = scores.reshape(-1).kthvalue(k).values
        return x.masked_fill(scores <= threshold, 0)

    @staticmethod
    def symbolic(g, x, sparsity: float):
        from torch.onnx import TensorProtoDataType as T

        scores = g.op("Abs", x)
        flat = g.op("Reshape", scores, g.op("Constant", value_t=torch.tensor([-1], dtype=torch.int64)))
        n = g.op("Cast", g.op("Size", x), to_i=T.DOUBLE)
        one = g.op("Constant", value_t=torch.tensor(1.0, dtype=torch.float64))
        k = g.op(
            "Add",
            g.op(
                "Floor",
                g.op(
                    "Mul",
                    g.op("Sub", n, one),
                    g.op("Constant", value_t=torch.tensor(sparsity, dtype=torch.float64)),
                ),
            ),
            one,
        )
        k = g.op(
            "Reshape",
            g.op("Cast", k, to_i=T.INT64),
            g.op("Constant", value_t=torch.tensor([1], dtype=torch.int64)),
        )
        smallest, _ = g.op("TopK", flat, k, largest_i=0, sorted_i=1, outputs=2)
        threshold = g.op("ReduceMax", smallest, keepdims_i=0)
        zero = g.op("Constant", value_t=torch.tensor(0.0, dtype=torch.float32))
        return g.op("Where", g.op("LessOrEqual", scores, threshold), zero, x)
