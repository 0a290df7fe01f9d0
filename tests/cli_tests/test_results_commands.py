"""A real `adls run` as a user sees it (quiet, ending with the best configuration), then `adls best` and `adls report`.

The results folder is moved before it is read: paths in the table are relative to it, and the
best checkpoint opens with Hugging Face's own `from_pretrained`.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from analysis.results import load_results

ROOT = Path(__file__).resolve().parents[2]
NOISE = (
    "A new study created",
    "Token authentication is enabled",
    "Checkpoint successfully created",
    "Ray deduplicates logs",
)

pytestmark = pytest.mark.slow


def adls(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "adls", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


def test_a_smoke_run_is_quiet_ends_with_the_best_and_its_results_move(tmp_path):
    ran = adls(
        "run",
        "base",
        "--profile",
        "smoke",
        "--dataset",
        "synthetic",
        "--storage",
        "first",
        "--callbacks",
        "tensorboard",
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    output = ran.stdout + ran.stderr
    assert [noise for noise in NOISE if noise in output] == []
    assert "pid=" not in output, output[-3000:]  # nothing from the trial workers at all
    progress = [
        line for line in ran.stdout.splitlines() if line.startswith("[base/base] ") and "finished" in line
    ]
    assert progress and all("elapsed, ETA" in line for line in progress)
    states = [re.sub(r", [\d:]+ elapsed, ETA [-\d:]+", "", line) for line in progress]
    assert len(states) == len(set(states)), progress  # a line only when something changed
    tail = ran.stdout[ran.stdout.index("[base/base] best by:") :]
    assert (
        "max accuracy; ties: lower cost_weight_bits" in tail
        and "#1 trial 0:" in tail
        and "checkpoint: " in tail
    )

    folder = tmp_path / "first" / "base"
    run_json = json.loads((folder / "run.json").read_text())
    assert run_json["objectives"] == {"base": {"metric": ["accuracy"], "mode": ["max"]}}
    assert {"python", "ray", "optuna", "torch"} <= set(run_json["versions"])
    assert list((folder / "tune" / "base").glob("*/events.out.tfevents.*"))  # --callbacks tensorboard
    stored = pd.read_parquet(folder / "trials.parquet")
    assert (stored["objective"] == "accuracy").all() and (stored["objective_mode"] == "max").all()
    assert stored["checkpoint"].str.startswith("tune/base/").all()  # relative to the experiment folder

    shutil.move(tmp_path / "first", tmp_path / "moved")
    moved = tmp_path / "moved" / "base"
    checkpoint = load_results(moved)["checkpoint"].iloc[0]
    assert checkpoint.startswith(str(moved.resolve()))
    AutoModelForSequenceClassification.from_pretrained(checkpoint)
    AutoTokenizer.from_pretrained(checkpoint)

    best = adls("best", str(moved), "--json", cwd=tmp_path)
    assert best.returncode == 0, best.stderr
    (record,) = json.loads(best.stdout)
    assert record["rank"] == 1 and record["objective"] == [{"metric": "accuracy", "mode": "max"}]
    assert record["metrics"]["accuracy"] == pytest.approx(float(stored["accuracy"].iloc[0]))
    assert record["checkpoint"] == checkpoint
    text = adls("best", str(moved), "--top", "2", cwd=tmp_path)
    assert text.returncode == 0 and "[base/base] best by: max accuracy" in text.stdout

    report = adls("report", str(tmp_path / "moved"), "-o", str(tmp_path / "page.html"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "page.html").read_text()
    assert f"accuracy={record['metrics']['accuracy']:.4g}" in page and "Tutorial 2" in page
