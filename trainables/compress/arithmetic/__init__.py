"""Arithmetic shared by several number formats: float32 exponent grids, MASE's blocking rule, MX blocks."""
