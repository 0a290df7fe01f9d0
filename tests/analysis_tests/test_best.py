"""analysis.best: one ranking rule for the winning configurations of a results table."""

import json

import pandas as pd
import pytest

from analysis.best import best_records, best_trials, format_best, metrics_of, rule_text
from errors import ResultsError


def _rows(variant: str, accuracies, bits, statuses=None, objective="qat_accuracy", mode="max"):
    n = len(accuracies)
    return pd.DataFrame(
        {
            "experiment": "lab1-qat",
            "variant": variant,
            "repeat": 0,
            "trial_index": range(n),
            "trial_id": [f"{variant}{i}" for i in range(n)],
            "width": [b // 1000 for b in bits],
            "params": [json.dumps({"width": b // 1000}) for b in bits],
            "qat_accuracy": accuracies,
            "ptq_accuracy": [a - 0.1 for a in accuracies],
            "cost_weight_bits": bits,
            "cost_params": 1000,
            "status": statuses or ["TERMINATED"] * n,
            "checkpoint": [f"/r/lab1-qat/tune/{variant}/t{i}/checkpoint_000000" for i in range(n)],
            "objective": objective,
            "objective_mode": mode,
        }
    )


def test_the_best_trial_per_variant_with_ties_going_to_fewer_bits_then_launch_order():
    table = pd.concat(
        [
            # 0.8 three times: 16000 bits at index 0, 8000 bits at 1 and 3 -> index 1 wins.
            _rows(
                "qat",
                [0.8, 0.8, 0.9, 0.8],
                [16000, 8000, 4000, 8000],
                ["TERMINATED", "TERMINATED", "ERROR", "TERMINATED"],
            ),
            _rows("other", [0.5, 0.7], [4000, 32000]),
        ]
    )
    best = best_trials(table, 1)
    assert best[["variant", "trial_index", "rank"]].values.tolist() == [["qat", 1, 1], ["other", 1, 1]]
    top = best_trials(table, 3)
    assert top[top["variant"] == "qat"]["trial_index"].tolist() == [1, 3, 0]  # the failed 0.9 never wins
    assert top["rule"].iloc[0] == rule_text([("qat_accuracy", "max")])
    assert top["rule"].iloc[0].startswith("max qat_accuracy; ties: lower cost_weight_bits")


def test_min_objectives_and_two_objective_searches_use_the_pareto_front():
    low = _rows("size", [0.5, 0.5, 0.5], [1000, 1000, 1000], objective="cost_size_mb", mode="min")
    low["cost_size_mb"] = [3.0, 1.0, 2.0]
    assert best_trials(low, 1)["trial_index"].tolist() == [1]
    two = _rows(
        "both",
        [0.8, 0.9, 0.7],
        [8000, 16000, 8000],
        objective="qat_accuracy,cost_weight_bits",
        mode="max,min",
    )
    two["pareto_optimal"] = [True, True, False]
    best = best_trials(two, 5)
    assert best["trial_index"].tolist() == [1, 0]  # Pareto set only, listed by the first objective
    assert best["rule"].iloc[0].startswith("Pareto front of max qat_accuracy, min cost_weight_bits")


def test_records_hold_params_metrics_checkpoint_and_print_in_lines():
    table = _rows("qat", [0.6, 0.8], [8000, 16000])
    records = best_records(table, 1)
    assert json.loads(json.dumps(records)) == records  # JSON-ready
    record = records[0]
    assert record["params"] == {"width": 16}
    assert list(record["metrics"])[:2] == ["qat_accuracy", "ptq_accuracy"]  # objective first
    assert "width" not in record["metrics"] and "trial_index" not in record["metrics"]
    assert record["checkpoint"].endswith("/qat/t1/checkpoint_000000")
    assert record["objective"] == [{"metric": "qat_accuracy", "mode": "max"}]
    text = "\n".join(format_best(records))
    assert (
        "[lab1-qat/qat] best by: max qat_accuracy" in text
        and "width=16" in text
        and "qat_accuracy=0.8" in text
    )


def test_a_table_without_objective_columns_is_refused_with_what_to_do():
    table = _rows("qat", [0.6], [8000]).drop(columns=["objective", "objective_mode"])
    with pytest.raises(ResultsError, match="rerun the experiment with --force"):
        best_trials(table)


def test_metrics_skip_nan_and_bookkeeping():
    row = _rows("qat", [0.6], [8000]).iloc[0].to_dict() | {"extra": float("nan"), "seed": 3}
    assert "extra" not in metrics_of(row) and "seed" not in metrics_of(row)
