"""`adls show` > file, edit, `adls run file.toml`: Lab 3's searches run exactly the edited [space] on a DistilBERT.

Marked `models` (make test-models). The layers are chosen by pattern on DistilBERT's own names
(`l1.*`: its second layer's q_lin, k_lin, ...), the rest stay fp32 in every trial; the Optuna
study database shows the distributions the searches sampled from.
"""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.own_models_tests.test_own_runs import adls

pytestmark = pytest.mark.models
REPO = Path(__file__).resolve().parents[2]


def shown(experiment: str, env: dict[str, str]) -> str:
    return adls(["show", experiment], env).stdout


def edited(text: str, table: str, key: str, line: str) -> str:
    """`text` with the line `key = ...` of TOML table `table` replaced."""
    lines = text.splitlines()
    start = lines.index(f"[{table}]")
    index = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(f"{key} = "))
    lines[index] = line
    return "\n".join(lines) + "\n"


def sampled_choices(folder: Path, suffix: str) -> set[tuple]:
    """The choices of every `<layer><suffix>` distribution the study database holds."""
    with sqlite3.connect(folder / "optuna.db") as db:
        rows = db.execute("SELECT param_name, distribution_json FROM trial_params").fetchall()
    return {
        tuple(json.loads(distribution)["attributes"]["choices"])
        for name, distribution in rows
        if name.endswith(suffix)
    }


def type_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.endswith(".type")]


def test_edited_lab3_files_search_exactly_their_layers_formats_and_widths(tiny_models, data_files, tmp_path):
    env = {**tiny_models.env(dict(os.environ)), "PYTHONPATH": str(REPO)}
    storage = tmp_path / "results"
    flags = ["--profile", "smoke", "--storage", str(storage)]
    flags += ["--model", str(tiny_models.folders["distilbert"]), "--dataset", str(data_files["csv"])]
    flags += ["--text-column", "review", "--label-column", "stars"]

    text = edited(shown("lab3-precisions", env), "space", "formats", 'formats = ["integer"]')
    text = edited(text, "space", "layers", 'layers = ["l1.*"]')
    text = edited(text, "space.integer", "width", "width = [8, 12]")
    (tmp_path / "precisions.toml").write_text(text)
    adls(["run", str(tmp_path / "precisions.toml"), *flags, "--budget", "3"], env)
    table = pd.read_parquet(storage / "lab3-precisions" / "trials.parquet")
    assert set(table["variant"]) == {"integer"} and len(table) == 3
    columns = type_columns(table)
    assert len(columns) == 14  # every Linear of the 2-layer DistilBERT, by its own names
    searched = [c for c in columns if c.startswith("l1.")]
    assert len(searched) == 6 and "l1.attention.q_lin.type" in searched
    assert (table[[c for c in columns if c not in searched]] == "fp32").all().all()
    assert set(table.filter(regex=r"\.width$").stack().dropna()) <= {8, 12}
    assert sampled_choices(storage / "lab3-precisions", ".width") == {(8, 12)}
    assert sampled_choices(storage / "lab3-precisions", ".type") == {("fp32", "integer")}
    assert (
        'layers = [\\"l1.*\\"]' in (storage / "lab3-precisions" / "run.json").read_text()
    )  # the file's text

    text = edited(shown("lab3-mixed", env), "space", "layers", 'layers = ["*.ffn.*", "classifier"]')
    text = edited(text, "space", "frac_width", "frac_width = [3]")
    (tmp_path / "mixed.toml").write_text(text)
    adls(["run", str(tmp_path / "mixed.toml"), *flags], env)
    table = pd.read_parquet(storage / "lab3-mixed" / "trials.parquet")
    searched = [
        "l0.ffn.lin1.type",
        "l0.ffn.lin2.type",
        "l1.ffn.lin1.type",
        "l1.ffn.lin2.type",
        "classifier.type",
    ]
    assert (table[[c for c in type_columns(table) if c not in searched]] == "fp32").all().all()
    assert sampled_choices(storage / "lab3-mixed", ".frac_width") <= {(3,)}
    assert sampled_choices(storage / "lab3-mixed", ".type") == {("fp32", "integer")}


def test_a_pattern_no_distilbert_layer_has_is_refused_before_ray(tiny_models, data_files, tmp_path):
    env = {**tiny_models.env(dict(os.environ)), "PYTHONPATH": str(REPO)}
    text = edited(shown("lab3-mixed", env), "space", "layers", 'layers = ["*.query"]')
    (tmp_path / "bert-names.toml").write_text(text)
    storage = tmp_path / "results"
    ran = subprocess.run(
        [sys.executable, "-m", "adls", "run", str(tmp_path / "bert-names.toml"), "--profile", "smoke"]
        + ["--storage", str(storage), "--model", str(tiny_models.folders["distilbert"])]
        + ["--dataset", str(data_files["jsonl"])],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert ran.returncode == 2, ran.stderr[-2000:]
    assert "'*.query' matches no Linear layer of the model; its layers are l0.attention.q_lin" in ran.stderr
    assert not (storage / "base").exists()
