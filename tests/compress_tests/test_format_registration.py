"""A number format is one registration: a throwaway format, declared in this file alone, is
quantized by `quantize_model`, has an example config, is searched by lab3-precisions and is drawn
in the figure style it declares (carried by the rows Lab 3's searches write)."""

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.image import imread
from torch import nn

from analysis.figures import draw_figures
from analysis.format_styles import declared_order, declared_styles
from errors import ConfigError
from search.experiments.spaces.precisions import (
    check_precisions,
    format_config,
    knob_keys,
    searchable_formats,
    style_columns,
)
from trainables.compress import example_config, quantize_model, registry
from trainables.compress.config_checks import require_int
from trainables.compress.layers.quantized_linear import TENSORS, QuantizedLinear, Quantizer
from trainables.compress.number_format import (
    FigureStyle,
    NumberFormat,
    PrecisionSpace,
    every_tensor,
    per_tensor,
)
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
    order=500,
    style=FigureStyle("#123456", "D", ":", label="steps (a test's)"),
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


def _lab3_rows(name: str, accuracy: float) -> list[dict[str, Any]]:
    """Two finished trials of one format's search as lab3-precisions writes them (style columns included)."""
    return [
        {
            "experiment": "lab3-precisions",
            "variant": name,
            "repeat": 0,
            "trial_index": index,
            "status": "TERMINATED",
            "accuracy": accuracy + 0.01 * index,
            "cost_avg_linear_bits": 8.0 - index,
            "profile": "smoke",
            "dataset": "synthetic",
            "fp32_accuracy": 0.8,
            "start_from": "base",
            **style_columns(name),
        }
        for index in range(2)
    ]


def _has_colour(png, colour: str) -> bool:
    pixels = imread(png)[..., :3]
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return bool((np.abs(pixels - rgb).max(axis=-1) < 0.5 / 255).any())


def test_the_figures_draw_the_format_in_the_style_its_registration_declares(throwaway, tmp_path):
    table = pd.DataFrame(_lab3_rows(throwaway, 0.7) + _lab3_rows("integer", 0.6))
    assert declared_styles(table)[throwaway].label == "steps (a test's)"
    assert declared_order(table, [throwaway, "integer"]) == ["integer", throwaway]  # by `order`
    paths = draw_figures(tmp_path, table)
    formats_png = tmp_path / "lab3-precisions-formats.png"
    assert formats_png in paths
    assert _has_colour(formats_png, THROWAWAY.style.colour)  # the dot of the throwaway format
    assert _has_colour(formats_png, registry.FORMATS["integer"].style.colour)
    # Without the declared style the figure picks another colour: the check above could fail.
    undeclared = table.drop(columns=[c for c in table.columns if c.startswith("style_")])
    draw_figures(tmp_path, undeclared)
    assert not _has_colour(formats_png, THROWAWAY.style.colour)


def test_unregistering_removes_it_and_the_library_is_as_before(throwaway):
    registry.unregister(throwaway)
    assert throwaway not in registry.LINEAR_FORMATS and throwaway not in searchable_formats()
    with pytest.raises(ConfigError, match="unknown format"):
        check_precisions([throwaway])
    library = [each.style for each in registry.FORMATS.values()]
    assert None not in library  # each library format declares its figure style, all different
    assert (
        len({style.colour for style in library}) == len({style.marker for style in library}) == len(library)
    )
    registry.register(THROWAWAY)  # the fixture unregisters it


def test_a_name_registered_twice_or_an_example_of_another_name_is_refused(throwaway):
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(THROWAWAY)
    other = type("LinearOtherSteps", (LinearSteps,), {"format_name": "throwaway_other"})
    with pytest.raises(ValueError, match="its example config names"):
        registry.register(NumberFormat(other, example={"name": "integer"}))
    assert "throwaway_other" not in registry.FORMATS


def test_a_figure_style_with_a_colour_that_is_not_rrggbb_is_refused():
    with pytest.raises(ValueError, match="not #rrggbb"):
        FigureStyle("blue", "o")
