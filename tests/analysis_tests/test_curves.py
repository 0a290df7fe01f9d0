import math

import numpy as np
import pandas as pd
import pytest

from analysis import load_results, pareto_front, running_max
from errors import ResultsError


def test_running_max_on_a_known_series_per_variant():
    table = pd.DataFrame(
        {
            "variant": ["tpe"] * 5 + ["grid"] * 3,
            "trial_index": [0, 1, 2, 3, 4, 2, 0, 1],
            "accuracy": [0.5, 0.4, 0.7, np.nan, 0.6, 0.9, 0.3, 0.2],
        }
    )
    curves = running_max(table, "accuracy")
    tpe = curves[curves["variant"] == "tpe"]
    assert tpe["best_so_far"].tolist() == [0.5, 0.5, 0.7, 0.7, 0.7]
    grid = curves[curves["variant"] == "grid"]
    # launch order, not row order: 0.3 (idx 0), 0.2 (idx 1), 0.9 (idx 2)
    assert grid["best_so_far"].tolist() == [0.3, 0.3, 0.9]
    assert grid["trial"].tolist() == [1, 2, 3]


def test_running_max_is_non_decreasing_and_starts_at_first_value():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"variant": "x", "trial_index": range(50), "accuracy": rng.random(50)})
    best = running_max(table, "accuracy")["best_so_far"].to_numpy()
    assert best[0] == table["accuracy"].iloc[0]
    assert np.all(np.diff(best) >= 0)
    assert math.isclose(best[-1], table["accuracy"].max())


def test_pareto_front_keeps_only_non_dominated_points():
    table = pd.DataFrame({"accuracy": [0.9, 0.8, 0.85, 0.7, 0.9], "size": [10, 5, 8, 6, 12]})
    front = pareto_front(table, maximize="accuracy", minimize="size")
    assert sorted(front.index.tolist()) == [0, 1, 2]


def test_load_results_errors_name_the_problem(tmp_path):
    with pytest.raises(ResultsError, match="does not exist"):
        load_results(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match="holds no trials.parquet"):
        load_results(tmp_path / "empty")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "trials.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ResultsError, match="not a readable results table"):
        load_results(corrupt)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    pd.DataFrame({"a": [1]}).to_parquet(foreign / "trials.parquet")
    with pytest.raises(ResultsError, match="lacks columns"):
        load_results(foreign)
