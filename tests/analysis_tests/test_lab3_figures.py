"""Lab 3 figures from a made-up table (no Ray), and the Pareto marking of multi-objective rows."""

import math

import pandas as pd
import pytest

from analysis.figures import draw_figures
from search.run.results_table import mark_pareto_front


def made_up_table() -> pd.DataFrame:
    rows = []
    for variant, base in (("integer", 0.76), ("binary", 0.70), ("log", 0.74)):
        for repeat in (0, 1):
            for index in range(4):
                failed = variant == "log" and index == 2
                rows.append(
                    {
                        "experiment": "lab3-precisions",
                        "variant": variant,
                        "repeat": repeat,
                        "trial_index": index,
                        "status": "ERROR" if failed else "TERMINATED",
                        "accuracy": math.nan if failed else base + 0.01 * ((index * 7 + repeat) % 3),
                        "cost_size_mb": math.nan if failed else 4.0 + 0.3 * index - (variant == "binary"),
                        "cost_avg_linear_bits": math.nan
                        if failed
                        else (1.0 if variant == "binary" else 8.0) + index,
                        "majority_accuracy": 0.5,
                        "profile": "quick",
                        "dataset": "rotten_tomatoes",
                        "fp32_accuracy": 0.77,
                        "fp32_size_mb": 5.6,
                        "start_from": "base",
                        "sampler": "tpe",
                        "objectives": "accuracy",
                    }
                )
    return pd.DataFrame(rows)


def test_best_so_far_and_pareto_figures_are_drawn_with_their_points(tmp_path):
    table = made_up_table()
    table.to_parquet(tmp_path / "trials.parquet")
    paths = draw_figures(tmp_path)
    assert [p.name for p in paths] == [
        "lab3-precisions.png",
        "lab3-precisions-formats.png",
        "lab3-precisions-pareto.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in paths)

    curve = pd.read_csv(tmp_path / "lab3-precisions.csv")
    assert sorted(curve["variant"].unique()) == ["binary", "integer", "log"]
    for _, part in curve.groupby("variant"):
        assert part["trial"].tolist() == [1, 2, 3, 4]  # a failed trial still counts as a trial
        assert part["best_so_far"].is_monotonic_increasing and (part["repeats"] == 2).all()

    pareto = pd.read_csv(tmp_path / "lab3-precisions-pareto.csv")
    assert len(pareto) == 22  # the two failed trials have no point
    front = pareto[pareto["on_front"]]
    bits = "cost_avg_linear_bits"  # the x-axis: bits per Linear weight, not model size
    for _, point in pareto.iterrows():
        beaten = (
            (pareto["accuracy"] >= point["accuracy"])
            & (pareto[bits] <= point[bits])
            & ((pareto["accuracy"] > point["accuracy"]) | (pareto[bits] < point[bits]))
        ).any()
        assert point["on_front"] == (not beaten)
    assert len(front) >= 1

    # One dot per format, best first: each format's best per repeat, averaged over the repeats.
    formats = pd.read_csv(tmp_path / "lab3-precisions-formats.csv")
    assert formats["variant"].tolist() == ["integer", "log", "binary"]
    # log: repeat 0's best is 0.75, repeat 1's 0.76 (its failed trial does not count).
    assert formats["best_accuracy"].tolist() == pytest.approx([0.78, 0.755, 0.72])
    log = formats[formats["variant"] == "log"].iloc[0]
    assert (log["lowest"], log["highest"]) == pytest.approx((0.75, 0.76))
    assert (formats["repeats"] == 2).all()


def test_a_declared_style_is_kept_and_other_names_take_colours_no_declared_style_uses():
    from analysis.format_styles import COLOURS, curve_styles, declared_order, declared_styles, style_record

    rows = [
        {"variant": "mine", **style_record(COLOURS[0], "h", ":", 7, "my format")},
        {"variant": "yours", **style_record("#123456", "s", "-", 3, "yours")},
        {"variant": "plain"},
    ]
    table = pd.DataFrame(rows)
    declared = declared_styles(table)
    assert set(declared) == {"mine", "yours"} and declared["mine"].label == "my format"
    assert declared_order(table, ["plain", "mine", "yours"]) == ["yours", "mine", "plain"]
    styles = curve_styles(["mine", "plain", "grid"], declared)
    assert styles["mine"] == declared["mine"]  # whatever else is in the figure
    assert curve_styles(["grid", "mine"], declared)["mine"] == declared["mine"]
    others = {styles["plain"].colour, styles["grid"].colour}
    assert COLOURS[0] not in others and len(others) == 2
    # A table without style columns (written before they existed) declares nothing.
    assert declared_styles(made_up_table()) == {}


def test_titles_name_profile_and_dataset():
    from analysis.figure_parts import run_label

    table = made_up_table()
    assert run_label(table) == "quick profile, rotten_tomatoes"
    assert run_label(table.assign(mase_exact=True)) == "quick profile, rotten_tomatoes, MASE-exact"


def test_pareto_marking_keeps_exactly_the_undominated_finished_rows():
    rows = [
        {"status": "TERMINATED", "accuracy": 0.80, "cost_size_mb": 5.0},  # best accuracy
        {"status": "TERMINATED", "accuracy": 0.70, "cost_size_mb": 3.0},  # smallest
        {"status": "TERMINATED", "accuracy": 0.70, "cost_size_mb": 4.0},  # beaten by the smallest
        {"status": "TERMINATED", "accuracy": 0.80, "cost_size_mb": 5.0},  # a tie stays optimal
        {"status": "TERMINATED", "accuracy": 0.75, "cost_size_mb": 4.5},  # in between
        {"status": "ERROR", "accuracy": None, "cost_size_mb": None},
        {"status": "TERMINATED", "accuracy": float("nan"), "cost_size_mb": 1.0},
    ]
    mark_pareto_front(rows, ["accuracy", "cost_size_mb"], ["max", "min"])
    assert [row["pareto_optimal"] for row in rows] == [True, True, False, True, True, False, False]
