"""`adls --help` and `adls list` start without importing torch, transformers or Ray Tune.

Each command runs in a fresh interpreter, which then prints the modules it imported; the
experiment names, lab tasks and requirements come from search/experiments/registry.py, not the trial code.
The start time itself is measured by bench/bench_cli_startup.py. A whole `adls run` imports
torch and transformers only in Ray's workers, which train: the driver plans and reads results.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "ray.tune")
SCRIPT = """
import contextlib, io, json, sys
from adls.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        code = main({argv!r})
    except SystemExit as stop:  # --help exits
        code = stop.code
print(json.dumps({{"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}}))
"""


def _imports_after(argv: list[str], cwd: Path | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["list"]])
def test_the_command_starts_without_torch_transformers_or_ray_tune(argv):
    result = _imports_after(argv)
    assert result["code"] == 0 and result["out"]
    assert _heavy(result["modules"], HEAVY) == []


def test_list_names_every_experiment_with_its_lab_task_and_requirements():
    out = _imports_after(["list"])["out"]
    assert (
        "lab1-qat               Lab 1 task 1: fixed-point width 4..32, PTQ vs QAT accuracy  (needs base)"
        in out
    )
    assert "lab1                   runs base -> lab1-qat -> lab1-prune" in out
    assert len(out.splitlines()) == 10


def test_the_probe_reports_what_a_command_imports():
    # `adls plot` reads a results table, so pandas must show up: the probe is not blind.
    result = _imports_after(["plot", "/nonexistent-adls-folder"])
    assert result["code"] == 2 and "pandas" in result["modules"]


def _heavy(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in modules if any(name == h or name.startswith(h + ".") for h in names)]


@pytest.mark.slow
def test_a_whole_run_trains_in_the_workers_and_never_imports_torch_in_the_driver(tmp_path):
    # lab1-qat runs its dependency base first: two experiments, trials, checkpoints, figures.
    result = _imports_after(
        ["run", "lab1-qat", "--profile", "smoke", "--dataset", "synthetic", "--storage", "r"], cwd=tmp_path
    )
    assert result["code"] == 0, result["out"][-3000:]
    assert "[lab1-qat] 4 trials in" in result["out"]
    assert (tmp_path / "r" / "lab1-qat" / "lab1-qat.png").is_file()
    assert "ray.tune" in result["modules"]  # the probe sees the driver's imports
    assert _heavy(result["modules"], ("torch", "transformers", "tensorboardX")) == []


PLAN_SCRIPT = """
import json, sys
import search.runner
from search.options import RunOptions
from search.experiments.registry import get_experiment
options = RunOptions(profile_name="smoke")
variants = {name: len(get_experiment(name).variants(options, {})) for name in ("base", "lab2-nas")}
get_experiment("lab1-qat"), get_experiment("lab1-prune")  # their variants need earlier results
print(json.dumps({"variants": variants, "modules": sorted(sys.modules)}))
"""


def test_planning_the_single_model_searches_imports_no_torch():
    # lab2-compress-aware and lab3-* build a model in the driver to check configs: they need torch.
    done = subprocess.run(
        [sys.executable, "-c", PLAN_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["variants"] == {"base": 1, "lab2-nas": 3}
    assert _heavy(result["modules"], ("torch", "transformers")) == []
