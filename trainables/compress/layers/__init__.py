"""Quantized Linear layers: the base class (`quantized_linear`), the fused fake-quant autograd node and
one module per MASE format family (`linear_*`)."""
