"""Where Lab 3 starts (base or stored lab2-nas, --from), and its option errors, without Ray."""

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from adls.cli import main
from analysis.results import load_results
from errors import ConfigError
from search.experiments import registry
from search.experiments.experiment import Experiment
from search.experiments.starts.lab3_start import start_experiment, starting_point
from search.options import RunOptions
from search.run_plan import RunPlan
from tests.saved_model_files import saved_model_folder


class FakeNas(Experiment):
    """Stands in for lab2-nas, so these tests do not depend on (or run) the real NAS search."""

    start_metric = "accuracy"

    def variants(self, options, inputs):
        raise AssertionError("the stored lab2-nas results must be reused, not rerun")


@pytest.fixture
def nas(monkeypatch):
    entry = registry.ExperimentEntry("lab2-nas", "fake", (), f"{__name__}:FakeNas")
    monkeypatch.setitem(registry.EXPERIMENTS, "lab2-nas", entry)
    return entry


def store_nas_results(options: RunOptions, nas) -> str:
    """A finished lab2-nas run of this identity whose best trial is the second one."""
    folder = f"{options.storage}/lab2-nas"
    os.makedirs(folder, exist_ok=True)
    ckpt = {name: saved_model_folder(Path(options.storage) / "ckpt" / name) for name in ("a", "b")}
    pd.DataFrame(
        {
            "experiment": "lab2-nas",
            "variant": "tpe",
            "trial_index": [0, 1, 2],
            "status": ["TERMINATED", "TERMINATED", "ERROR"],
            "accuracy": [0.61, 0.74, None],
            "checkpoint": [ckpt["a"], ckpt["b"], None],
        }
    ).to_parquet(f"{folder}/trials.parquet")
    with open(f"{folder}/run.json", "w") as handle:
        json.dump({"identity": RunPlan(options).identity("lab2-nas"), "run_id": "nas-1"}, handle)
    return folder


def test_base_is_the_default_start_when_no_nas_results_are_stored(tmp_path, nas):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    plan = RunPlan(options)
    assert start_experiment(options, plan.has_results) == "base"
    assert plan.dependencies("lab3-mixed") == ("base",)
    assert plan.identity("lab3-mixed")["fields"]["start_from"] == "base"


def test_stored_nas_results_of_this_identity_become_the_start(tmp_path, nas):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    folder = store_nas_results(options, nas)
    plan = RunPlan(options)
    assert start_experiment(options, plan.has_results) == "lab2-nas"
    for name in ("lab3-mixed", "lab3-precisions"):
        assert plan.dependencies(name) == ("lab2-nas",)
        assert plan.identity(name)["fields"]["start_from"] == "lab2-nas"
    start = starting_point({"lab2-nas": load_results(folder)})
    assert start == {"experiment": "lab2-nas", "checkpoint": f"{tmp_path}/ckpt/b", "accuracy": 0.74}
    # Another seed is another identity: its NAS model was not searched, so Lab 3 starts from base.
    other = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path), seed=1)
    assert start_experiment(other, RunPlan(other).has_results) == "base"


def test_from_chooses_explicitly(tmp_path, nas):
    stored = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    store_nas_results(stored, nas)
    base = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path), start_from="base")
    assert RunPlan(base).dependencies("lab3-mixed") == ("base",)
    # --from lab2-nas with nothing stored: the runner runs lab2-nas first (it is the dependency).
    fresh = RunOptions(
        profile_name="smoke", dataset="synthetic", storage=str(tmp_path / "new"), start_from="lab2-nas"
    )
    assert RunPlan(fresh).dependencies("lab3-mixed") == ("lab2-nas",)


def test_from_nas_without_a_nas_experiment_is_a_config_error(tmp_path, monkeypatch, request):
    # Put back in its order afterwards: messages list the experiments in the registry's order.
    everything = dict(registry.EXPERIMENTS)
    request.addfinalizer(lambda: (registry.EXPERIMENTS.clear(), registry.EXPERIMENTS.update(everything)))
    del registry.EXPERIMENTS["lab2-nas"]
    options = RunOptions(profile_name="smoke", storage=str(tmp_path), start_from="lab2-nas")
    with pytest.raises(ConfigError, match="no lab2-nas experiment"):
        start_experiment(options, RunPlan(options).has_results)
    plain = RunOptions(profile_name="smoke", storage=str(tmp_path))
    assert start_experiment(plain, RunPlan(plain).has_results) == "base"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "lab3-mixed", "--sampler", "grid"], "define-by-run"),
        (["run", "lab3", "--sampler", "cmaes"], "--sampler 'cmaes' is not allowed"),
        (["run", "lab3-mixed", "--objective", "size"], "must include accuracy"),
        (["run", "lab3-mixed", "--objective", "accuracy,latency"], "list each of"),
        (["run", "lab3-precisions", "--precisions", "integer,float8"], "unknown format 'float8'"),
    ],
)
def test_bad_lab3_options_fail_in_one_line_before_anything_runs(argv, message, tmp_path, capsys):
    assert main([*argv, "--profile", "smoke", "--storage", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing ran, not even base


def test_list_shows_the_lab3_experiments(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "lab3-mixed" in out and "lab3-precisions" in out and "lab3-mixed -> lab3-precisions" in out
