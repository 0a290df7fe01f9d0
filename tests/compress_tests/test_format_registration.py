"""A number format is one registration: a throwaway format, declared in this file alone, is
quantized by `quantize_model`, has an example config, is searched by lab3-precisions and is drawn."""

from collections.abc import Mapping
from functools import partial
from typing import Any

import pytest
import torch
from torch import nn

from analysis.format_styles import FORMAT_ORDER, curve_styles
from errors import ConfigError
from search.experiments.spaces.precisions import (
    check_precisions,
    format_config,
    knob_keys,
    searchable_formats,
)
from trainables.compress import example_config, quantize_model, registry
from trainables.compress.config_checks import require_int
from trainables.compress.layers.quantized_linear import TENSORS, QuantizedLinear, Quantizer
from trainables.compress.number_format import NumberFormat, PrecisionSpace, every_tensor, per_tensor
from trainables.compress.ste import straight_through


def _steps(x: torch.Tensor, steps: int) -> torch.Tensor:
    """Round to a grid of `steps` per unit (a made-up format)."""
    return straight_through(x, torch.round(x * steps) / steps)


class LinearSteps(QuantizedLinear):
    """A throwaway format: every tensor on a grid of `<tensor>_steps` per unit."""

    format_name = "throwaway_steps"

    @classmethod
    def check_config(cls, config: Mapping[str, Any], layer_name: str) -> None:
        for tensor in TENSORS:
            require_int(config, f"{tensor}_steps", layer_name, 1, 1024)

    def make_quantizer(self, tensor: str, config: Mapping[str, Any]) -> Quantizer | None:
        return partial(_steps, steps=int(config[f"{tensor}_steps"]))

    def weight_bits(self) -> float:
        return 8.0


THROWAWAY = NumberFormat(
    LinearSteps,
    example={"name": "throwaway_steps", **every_tensor(steps=16)},
    space=PrecisionSpace({"steps": per_tensor("steps", (4, 16))}, note="a test's format"),
)


@pytest.fixture
def throwaway():
    registry.register(THROWAWAY)
    yield THROWAWAY.name
    registry.unregister(THROWAWAY.name)


def test_the_registration_alone_makes_the_format_work_everywhere(throwaway):
    model = nn.Sequential(nn.Linear(8, 4))
    quantized = quantize_model(model, {"by": "type", "linear": {"config": example_config(throwaway)}})
    layer = quantized[0]
    assert isinstance(layer, LinearSteps)
    out = layer(torch.full((1, 8), 0.51))
    expected = nn.functional.linear(torch.full((1, 8), 0.5), _steps(layer.weight, 16), _steps(layer.bias, 16))
    assert torch.allclose(out, expected)
    assert throwaway in searchable_formats()
    check_precisions([throwaway, "integer"])
    assert knob_keys(throwaway) == {"steps": ["data_in_steps", "weight_steps", "bias_steps"]}
    assert format_config(throwaway) == {"name": throwaway}
    assert throwaway in curve_styles([throwaway, "integer"])  # a style of its own in every figure


def test_unregistering_removes_it_and_the_library_is_as_before(throwaway):
    registry.unregister(throwaway)
    assert throwaway not in registry.LINEAR_FORMATS and throwaway not in searchable_formats()
    with pytest.raises(ConfigError, match="unknown format"):
        check_precisions([throwaway])
    assert set(FORMAT_ORDER) == set(registry.FORMATS)  # each library format has its fixed figure style
    registry.register(THROWAWAY)  # the fixture unregisters it


def test_a_name_registered_twice_or_an_example_of_another_name_is_refused(throwaway):
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(THROWAWAY)
    other = type("LinearOtherSteps", (LinearSteps,), {"format_name": "throwaway_other"})
    with pytest.raises(ValueError, match="its example config names"):
        registry.register(NumberFormat(other, example={"name": "integer"}))
    assert "throwaway_other" not in registry.FORMATS
