"""lab3-mixed and lab3-precisions end to end on synthetic data through real Ray Tune runs (smoke profile).

The two tests share one storage folder, so `base` is trained once and the second test reuses it.
"""

import math

import pandas as pd
import pytest

from analysis import load_results
from analysis.format_styles import declared_styles
from search.experiments.spaces.precisions import PRECISION_SPACES, layer_keys
from search.options import RunOptions
from search.runner import run
from tests.inspect_check import assert_inspects
from trainables.compress import LINEAR_FORMATS
from trainables.compress.registry import FORMATS
from trainables.models.checkpoint import load_model


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    return tmp_path_factory.mktemp("lab3")


def layer_names(table: pd.DataFrame) -> list[str]:
    return [column.removesuffix(".type") for column in table.columns if column.endswith(".type")]


def assert_knobs_only_where_the_format_was_chosen(table: pd.DataFrame) -> None:
    """The define-by-run space: a layer's knob columns are set exactly in the rows where it chose the format."""
    layers = layer_names(table)
    assert len(layers) == 14
    for _, row in table.iterrows():
        knobs = PRECISION_SPACES[row["variant"]].knobs
        for layer in layers:
            chosen = row[f"{layer}.type"] == row["variant"]
            assert row[f"{layer}.type"] in ("fp32", row["variant"])
            for knob in knobs:
                value = row.get(f"{layer}.{knob}")
                present = value is not None and not (isinstance(value, float) and math.isnan(value))
                assert present == chosen, (row["variant"], layer, knob, value)


def test_lab3_mixed_samples_widths_only_for_integer_layers(ray_session, storage):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(storage))
    table = run("lab3-mixed", options)["lab3-mixed"]
    base = load_results(storage / "base")

    assert len(table) == options.profile.budget
    assert (table["status"] == "TERMINATED").all() and (table["variant"] == "integer").all()
    assert (table["sampler"] == "tpe").all() and (table["start_from"] == "base").all()
    assert (table["fp32_accuracy"] == base["accuracy"].iloc[0]).all()
    assert_knobs_only_where_the_format_was_chosen(table)
    layers = layer_names(table)
    choices = table[[f"{layer}.type" for layer in layers]]
    assert set(choices.stack()) == {"fp32", "integer"}
    # A layer that never chose integer has no width column at all.
    assert set(table.filter(regex=r"\.width$").stack().dropna()) <= {8, 16, 32}
    assert set(table.filter(regex=r"\.frac_width$").stack().dropna()) <= {2, 4, 8}
    assert (table["quantized_layers"] == (choices == "integer").sum(axis=1)).all()

    # The reported average bits are those of the sampled widths: every trial applied its own choice.
    start, _ = load_model(base["checkpoint"].iloc[0])
    sizes = {short: start.get_submodule(name).weight.numel() for short, name in layer_keys(start).items()}
    for _, row in table.iterrows():
        bits = sum(
            n * (row[f"{layer}.width"] if row[f"{layer}.type"] == "integer" else 32)
            for layer, n in sizes.items()
        )
        assert row["cost_avg_linear_bits"] == pytest.approx(bits / sum(sizes.values()))
        assert row["cost_size_mb"] <= row["fp32_size_mb"]

    folder = storage / "lab3-mixed"
    assert (folder / "lab3-mixed.png").stat().st_size > 10_000
    assert (folder / "lab3-mixed-pareto.png").stat().st_size > 10_000
    curve = pd.read_csv(folder / "lab3-mixed.csv")
    assert curve["trial"].tolist() == [1, 2, 3] and curve["best_so_far"].is_monotonic_increasing


def test_lab3_precisions_searches_every_format_for_accuracy_and_size(ray_session, storage):
    options = RunOptions(
        profile_name="smoke", dataset="synthetic", storage=str(storage), objectives=("accuracy", "size")
    )
    table = run("lab3-precisions", options)["lab3-precisions"]

    # Every format the compression library registers, read now rather than listed here.
    assert set(table["variant"]) == set(LINEAR_FORMATS)
    done = table[table["status"] == "TERMINATED"]
    assert (done.groupby("variant").size() >= 2).all(), table.groupby("variant")["status"].value_counts()
    assert (table["objectives"] == "accuracy,size").all()
    assert_knobs_only_where_the_format_was_chosen(done)

    # Each format's two-objective search returns its Pareto set: no trial of that search beats a
    # member on both accuracy (max) and size (min), and every other trial is beaten by one.
    for variant, rows in done.groupby("variant"):
        points = list(zip(rows["accuracy"], rows["cost_size_mb"], strict=True))
        assert rows["pareto_optimal"].any(), variant
        for (accuracy, size), optimal in zip(points, rows["pareto_optimal"], strict=True):
            dominated = any(a >= accuracy and s <= size and (a, s) != (accuracy, size) for a, s in points)
            assert optimal == (not dominated), (variant, accuracy, size)

    folder = storage / "lab3-precisions"
    assert (folder / "lab3-precisions.png").stat().st_size > 10_000
    pareto = pd.read_csv(folder / "lab3-precisions-pareto.csv")
    assert len(pareto) == len(done) and pareto["on_front"].any()
    assert set(pd.read_csv(folder / "lab3-precisions.csv")["variant"]) == set(LINEAR_FORMATS)
    # Each row carries its format's declared figure style, so figures need no registry (analysis/).
    stored = declared_styles(load_results(folder))
    for name, number_format in FORMATS.items():
        assert (stored[name].colour, stored[name].marker) == (
            number_format.style.colour,
            number_format.style.marker,
        )


def test_lab3_precisions_all_layers_keeps_the_classifier_and_records_mase_exact(ray_session, storage):
    options = RunOptions(
        profile_name="smoke",
        dataset="synthetic",
        storage=str(storage),
        precisions=("mxfp", "block_fp"),
        lab3_layers="all",
        keep_classifier_fp32=True,
        mase_exact=True,
        budget=1,  # --budget: trials per format instead of the profile's 2
    )
    base_run = pd.read_json(storage / "base" / "run.json", typ="series")
    table = run("lab3-precisions", options)["lab3-precisions"]
    # --budget does not change base's trial, so the stored base is reused, not retrained.
    assert pd.read_json(storage / "base" / "run.json", typ="series")["run_id"] == base_run["run_id"]
    assert not (storage / "base.previous").exists()
    assert table.groupby("variant").size().to_dict() == {"mxfp": 1, "block_fp": 1}
    assert (table["status"] == "TERMINATED").all()
    assert (table["mase_exact"]).all() and (table["layers_mode"] == "all").all()
    for _, row in table.iterrows():
        for layer in layer_names(table):
            assert row[f"{layer}.type"] == ("fp32" if layer == "classifier" else row["variant"])
    assert (table["quantized_layers"] == 13).all()
    run_json = pd.read_json(storage / "lab3-precisions" / "run.json", typ="series")
    assert run_json["identity"]["mase_exact"] is True and run_json["identity"]["budget"] == 1
    assert run_json["identity"]["fields"]["layers"] == "all"
    # The saved checkpoint rebuilds in MASE-exact mode.
    model, _ = load_model(table["checkpoint"].dropna().iloc[0])  # the kept (best) one
    quantized = [m for m in model.modules() if hasattr(m, "format_name") and m.format_name]
    assert quantized and all(m.config.get("mase_exact") is True for m in quantized)


def test_adls_inspect_reads_the_lab3_and_base_checkpoints(storage, capsys):
    for name in ("base", "lab3-mixed", "lab3-precisions"):  # stored by the tests above
        assert_inspects(storage / name, capsys)
