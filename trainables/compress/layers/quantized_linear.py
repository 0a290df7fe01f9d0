"""The base class of every quantized Linear: fake-quantizes input, weight and bias."""

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from trainables.compress.layers.fused_fake_quant import fake_quant_linear, pure_quantizers, quantize_input

Quantizer = Callable[[torch.Tensor], torch.Tensor]
# The tensors a quantized Linear quantizes; MASE config keys are `<tensor>_<knob>`.
TENSORS = ("data_in", "weight", "bias")
FP32_BITS = 32  # bits per value of an unquantized tensor


class QuantizedLinear(nn.Linear):
    """An nn.Linear whose input, weight and bias pass through a number format's quantizers.

    Subclasses set `format_name` and implement `check_config` (raise ConfigError on a bad
    MASE config) and `make_quantizer` (None leaves that tensor in fp32); `weight_bits` defaults
    to `weight_width` bits per weight, and `setup` adds a format's own parameters (a learned
    scale) after construction, so no subclass repeats the constructor. Build one with
    `from_linear`, which keeps the original weights. The quantized weight is cached while the
    module is in eval mode and the weight has not changed, so evaluation does not pay for
    fake quantization on every batch.
    """

    format_name: ClassVar[str] = ""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        config: Mapping[str, Any] | None = None,
        layer_name: str = "linear",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.config = dict(config or {})
        self.layer_name = layer_name
        self.check_config(self.config, layer_name)
        self.quantizers: dict[str, Quantizer | None] = {
            name: self.make_quantizer(name, self.config) for name in TENSORS
        }
        self._weight_cache: tuple[tuple[tuple[int, int], ...], torch.Tensor] | None = None
        self.setup()

    def setup(self) -> None:
        """Called at the end of construction (config checked, quantizers made): add the format's own
        parameters here, on `self.weight`'s device and dtype. Nothing by default."""

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        """Raise ConfigError when `config` is not a valid config of this format."""
        raise NotImplementedError

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        """Return the quantizer for `tensor` (one of data_in, weight, bias), or None for fp32."""
        raise NotImplementedError

    def weight_bits(self) -> float:
        """Storage bits of the weight tensor in this format, shared exponents included.

        By default `weight_width` bits per weight; formats with shared scales or exponents add them.
        """
        return float(self.config["weight_width"]) * self.weight.numel()

    @classmethod
    def from_linear(cls, linear: nn.Linear, config: Mapping[str, Any], layer_name: str = "linear"):
        """Build this layer from a plain Linear, copying its weight and bias."""
        layer = cls(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            config=config,
            layer_name=layer_name,
            device=linear.weight.device,
            dtype=linear.weight.dtype,
        )
        with torch.no_grad():
            layer.weight.copy_(linear.weight)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        layer.train(linear.training)
        # Pruning hooks installed before quantization must keep acting on the new layer.
        layer._forward_pre_hooks.update(linear._forward_pre_hooks)
        for name, buffer in linear.named_buffers(recurse=False):
            layer.register_buffer(name, buffer)
        return layer

    def quantized_weight(self) -> torch.Tensor:
        """The fake-quantized weight; cached in eval mode until the layer's parameters change.

        A stochastic format therefore evaluates with one draw of its weight until the next
        training step.
        """
        quantize = self.quantizers["weight"]
        if quantize is None:
            return self.weight
        if self.training or torch.is_grad_enabled():
            self._drop_weight_cache()
            return quantize(self.weight)
        # Every own parameter is in the key: some formats scale the weight by a learned one (gamma).
        key = tuple((param.data_ptr(), param._version) for param in self.parameters(recurse=False))
        if self._weight_cache is None or self._weight_cache[0] != key:
            self._weight_cache = (key, quantize(self.weight).detach())
        return self._weight_cache[1]

    def _drop_weight_cache(self) -> None:
        # Tested first: nn.Module's __setattr__ is slow enough to show in a training step.
        if self._weight_cache is not None:
            self._weight_cache = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and pure_quantizers(self.quantizers):
            # Training with deterministic quantizers: one autograd node for the whole layer.
            self._drop_weight_cache()
            q = self.quantizers
            return fake_quant_linear(x, self.weight, self.bias, q["data_in"], q["weight"], q["bias"])
        quantize_in = self.quantizers["data_in"]
        if quantize_in is not None:
            x = quantize_input(quantize_in, x)
        bias = self.bias
        quantize_bias = self.quantizers["bias"]
        if bias is not None and quantize_bias is not None:
            bias = quantize_bias(bias)
        return F.linear(x, self.quantized_weight(), bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, format={self.format_name}"
