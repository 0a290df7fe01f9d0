"""`adls run` on each tiny model family and each own-data file type, end to end (real Ray, smoke profile).

Marked `models` (make test-models, its own CI step): each family's chain takes a few minutes on 2 cores.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from torch import nn

from tests.own_models_tests.tiny_models import HUB_IDS, linear_count
from trainables.models.checkpoint import load_model
from trainables.models.families import FAMILIES

pytestmark = pytest.mark.models
REPO = Path(__file__).resolve().parents[2]

# (family, how the model is given, data file, its column options)
MATRIX = [
    ("distilbert", "folder", "csv", ["--text-column", "review", "--label-column", "stars"]),
    ("roberta", "hub", "jsonl", []),
    ("albert", "folder", "parquet", ["--text-column", "sentence1,sentence2"]),
]


def adls(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    ran = subprocess.run(
        [sys.executable, "-m", "adls", *args], env=env, capture_output=True, text=True, timeout=900, cwd=REPO
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    return ran


@pytest.mark.parametrize(("family", "given", "data", "columns"), MATRIX, ids=[m[0] for m in MATRIX])
def test_every_experiment_runs_on_the_family_and_file(
    family, given, data, columns, tiny_models, data_files, tmp_path
):
    env = {**tiny_models.env(dict(os.environ)), "PYTHONPATH": str(REPO)}
    model = HUB_IDS[family] if given == "hub" else str(tiny_models.folders[family])
    storage = tmp_path / "results"
    common = [
        "--profile",
        "smoke",
        "--storage",
        str(storage),
        "--model",
        model,
        "--dataset",
        str(data_files[data]),
    ]
    first = adls(["run", "lab1", *common, *columns], env)
    assert first.stdout.splitlines()[0].endswith(
        f"attention: the {family} model's own (adls fast attention is for BERT only)"
    )
    adls(["run", "lab3-mixed", *common, *columns], env)
    adls(["run", "lab2-nas", *common, *columns], env)

    linears = linear_count(tiny_models.folders[family])
    run = json.loads((storage / "lab1-qat" / "run.json").read_text())
    assert run["model_type"] == family and run["data_hash"].startswith("sha256:")
    labels = json.loads(run["label_map"])
    assert len(labels) == (3 if data == "csv" else 2) and run["num_classes"] == len(labels)
    for experiment in ("base", "lab1-qat", "lab1-prune", "lab3-mixed", "lab2-nas"):
        table = pd.read_parquet(storage / experiment / "trials.parquet")
        assert (table["status"] == "TERMINATED").all(), table[["status", "error"]]
        assert (table["model_type"] == family).all() and table["macro_f1"].between(0, 1).all()
        assert table["label_map"].nunique() == 1 and json.loads(table["label_map"].iloc[0]) == labels

    qat = pd.read_parquet(storage / "lab1-qat" / "trials.parquet")
    best = qat.sort_values("qat_accuracy").iloc[-1]
    model, recipe = load_model(storage / "lab1-qat" / best["checkpoint"])
    quantized = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and type(m) is not nn.Linear]
    assert len(quantized) == linears and recipe.model_type == family

    inspect = adls(["inspect", str(storage / "lab1-qat")], env).stdout
    assert "[model " in inspect.splitlines()[0] and f"{family} family" in inspect.splitlines()[0]
    for name in quantized:
        assert f"\n{name} " in inspect

    lab3 = pd.read_parquet(storage / "lab3-mixed" / "trials.parquet")
    assert (lab3["linear_layers"] == linears).all()
    assert (lab3["quantized_layers"] <= linears).all()

    nas = pd.read_parquet(storage / "lab2-nas" / "trials.parquet")
    for field in FAMILIES[family].shape_fields:
        assert field in nas.columns and (nas[f"built_{field}"] == nas[field]).all()
    for experiment in ("lab1-qat", "lab2-nas", "lab3-mixed"):
        assert list((storage / experiment).glob("*.png")), experiment
    report = adls(["report", str(storage)], env)
    page = Path(report.stdout.strip().splitlines()[-1].split()[0])
    assert f"({family})" in page.read_text().split("</h1>")[0]


def test_the_default_model_on_a_train_test_folder(data_files, tmp_path):
    """No --model: bert-tiny (its offline WordPiece vocabulary trained on the folder's train file)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    storage = tmp_path / "results"
    ran = adls(
        [
            "run",
            "base",
            "--profile",
            "smoke",
            "--storage",
            str(storage),
            "--dataset",
            str(data_files["folder"]),
        ],
        env,
    )
    assert "attention: adls fast training attention (BERT)" in ran.stdout.splitlines()[0]
    table = pd.read_parquet(storage / "base" / "trials.parquet")
    assert table["data_source"].iloc[0].startswith(f"folder {data_files['folder']}")
    counts = json.loads(table["class_counts"].iloc[0])  # the folder's own test split, not a held-out share
    assert sum(counts["train"].values()) == 240 and sum(counts["test"].values()) == 60
    assert 0 <= table["macro_f1"].iloc[0] <= 1 and table["text_columns"].iloc[0] == "text"
