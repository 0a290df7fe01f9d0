"""The sensitivity ranking, heat map and seeds on a hand-built table (no Ray)."""

import pandas as pd
import pytest

from analysis.sensitivity import format_sensitivity, layer_sensitivity, plot_sensitivity
from errors import ResultsError
from search.experiments.spaces.sensitivity_seeds import seeded_configs

# layer -> (accuracy drop at integer:4, at integer:8), loss increase = drop / 10
DROPS = {"l0.query": (0.01, 0.0), "l0.ffn_in": (0.05, 0.01), "pooler": (0.30, 0.02), "classifier": (0.0, 0.0)}


def sensitivity_table() -> pd.DataFrame:
    rows = []
    for position, (layer, drops) in enumerate(DROPS.items()):
        for precision, drop in zip(("integer:4", "integer:8"), drops, strict=True):
            rows.append(
                {
                    "experiment": "sensitivity",
                    "variant": "per-layer",
                    "trial_index": len(rows),
                    "status": "TERMINATED",
                    "profile": "smoke",
                    "dataset": "synthetic",
                    "layer": layer,
                    "layer_position": position,
                    "precision": precision,
                    "accuracy_drop": drop,
                    # classifier: no accuracy drop, but a loss increase: ranked above l0.query's 0
                    "loss_increase": 0.5 if layer == "classifier" else drop / 10,
                }
            )
    rows.append({**rows[0], "trial_index": len(rows), "status": "ERROR", "accuracy_drop": 0.9})
    return pd.DataFrame(rows)


def test_layers_are_ranked_by_mean_drop_then_loss_increase():
    ranking = layer_sensitivity(sensitivity_table())
    assert ranking["layer"].tolist() == ["pooler", "l0.ffn_in", "l0.query", "classifier"]
    assert ranking["accuracy_drop"].tolist() == pytest.approx([0.16, 0.03, 0.005, 0.0])
    assert ranking["worst_precision"].tolist() == ["integer:4"] * 4
    lines = format_sensitivity(sensitivity_table(), k=1)
    assert any("#1 pooler" in line for line in lines) and any("#4 classifier" in line for line in lines)


def test_no_finished_trial_is_a_results_error():
    table = sensitivity_table().assign(status="ERROR")
    with pytest.raises(ResultsError, match="run `adls run sensitivity` first"):
        layer_sensitivity(table)


def test_the_heat_map_has_one_cell_per_layer_and_precision(tmp_path):
    [png] = plot_sensitivity(sensitivity_table(), tmp_path)
    assert png.name == "sensitivity.png" and png.stat().st_size > 10_000
    cells = pd.read_csv(tmp_path / "sensitivity.csv")
    assert len(cells) == 2 * len(DROPS)
    assert cells["layer"].drop_duplicates().tolist() == list(DROPS)  # model order


def test_seeds_give_sensitive_layers_the_widest_width():
    ranked = ["pooler", "l0.ffn_in", "l0.value", "l0.query", "l0.key", "classifier"]
    thirds, halves = seeded_configs(ranked)
    assert [thirds[f"{layer}.width"] for layer in ranked] == [32, 32, 16, 16, 8, 8]
    assert [halves[f"{layer}.width"] for layer in ranked] == [16, 16, 16, 8, 8, 8]
    assert all(thirds[f"{layer}.type"] == "integer" for layer in ranked)
    assert {thirds[f"{layer}.frac_width"] for layer in ranked} == {4, 8}  # at most half the width
    assert len(seeded_configs(ranked, count=1)) == 1
