"""Results folders as the runner writes them (table, run.json, figures), for the report tests."""

import json
from pathlib import Path

import pandas as pd

from analysis.figures import draw_figures

RUN = {
    "lab_task": "Lab 1 task 1: fixed-point width 4..32, PTQ vs QAT accuracy",
    "seconds": 83.4,
    "options": {"profile_name": "smoke", "seed": 0},
    "versions": {"python": "3.11.2", "ray": "2.60.0", "optuna": "5.0.0", "torch": "2.13.0"},
}
# QAT accuracy per width; 8 and 16 tie, so the rule picks 8 (fewer weight bits).
QAT = {4: 0.52, 8: 0.7731, 16: 0.7731, 32: 0.7655}


def write_lab1_qat(root: Path) -> Path:
    folder = root / "lab1-qat"
    rows = []
    for index, (width, qat) in enumerate(QAT.items()):
        rows.append(
            {
                "experiment": "lab1-qat",
                "variant": "qat",
                "repeat": 0,
                "objective": "qat_accuracy",
                "objective_mode": "max",
                "trial_index": index,
                "trial_id": f"t{index}",
                "width": width,
                "frac_ratio": 0.5,
                "params": json.dumps({"width": width, "frac_ratio": 0.5}),
                "frac_width": width // 2,
                "ptq_accuracy": qat - 0.05,
                "qat_accuracy": qat,
                "fp32_accuracy": 0.78,
                "cost_weight_bits": width * 1000,
                "cost_params": 1000,
                "status": "TERMINATED",
                "error": None,
                "node": "10.0.0.1",
                "device": "cpu",
                "duration_s": 10.0 + index,
                "checkpoint": f"tune/qat/trial_{index}/checkpoint_000000",
                "profile": "smoke",
                "dataset": "rotten_tomatoes",
                "seed": 0,
            }
        )
    return _write(folder, pd.DataFrame(rows), RUN)


def write_lab2_nas(root: Path) -> Path:
    folder = root / "lab2-nas"
    rows = []
    for variant, values in {"grid": [0.61, 0.66, float("nan")], "tpe": [0.64, 0.6912, 0.65]}.items():
        for index, value in enumerate(values):
            params = {"num_hidden_layers": 1 + index % 2, "hidden_size": 64 * (1 + index)}
            rows.append(
                {
                    "experiment": "lab2-nas",
                    "variant": variant,
                    "repeat": 0,
                    "objective": "accuracy",
                    "objective_mode": "max",
                    "trial_index": index,
                    "trial_id": f"{variant}{index}",
                    **params,
                    "params": json.dumps(params),
                    "accuracy": value,
                    "cost_params": 5000 * (index + 1),
                    "status": "ERROR" if value != value else "TERMINATED",
                    "error": "RuntimeError: out of memory" if value != value else None,
                    "node": "10.0.0.2",
                    "device": "cpu",
                    "duration_s": 20.0,
                    "checkpoint": None
                    if value != value
                    else f"tune/{variant}/trial_{index}/checkpoint_000000",
                    "profile": "smoke",
                    "dataset": "rotten_tomatoes",
                    "seed": 0,
                }
            )
    run = {**RUN, "lab_task": "Lab 2: BERT NAS, Grid vs TPE"}
    return _write(folder, pd.DataFrame(rows), run)


def _write(folder: Path, table: pd.DataFrame, run: dict) -> Path:
    folder.mkdir(parents=True)
    table.to_parquet(folder / "trials.parquet", index=False)
    (folder / "run.json").write_text(json.dumps(run))
    assert draw_figures(folder), "the report tests need real figures"
    return folder
