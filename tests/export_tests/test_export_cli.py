"""`adls export` end to end on smoke results: real runs, real from_pretrained in a fresh process, real ONNX Runtime.

The smoke results (lab1-qat, lab1-prune, lab3-precisions in minifloat_ieee, lab2-nas) are built once
for the module (a few minutes on two cores): `make test-export`, its own CI step.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

pytestmark = pytest.mark.export

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ("lab1-qat", "lab1-prune", "lab3-precisions", "lab2-nas")
# ONNX Runtime vs PyTorch logits. Float summation order differs, which can move a value sitting on a
# rounding tie of the next QDQ by one grid step: measured on the quick profile 7.8e-3 at 8 bits, 1.0e-4
# at 24; minifloat inputs stay fp32 in ONNX (onnx_graph.py), 6e-3 measured on smoke.
LOGIT_TOLERANCE = 5e-2
# The fresh process's plain from_pretrained model computes with fp32 activations.
MIN_AGREEMENT = 0.95


def adls(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "adls", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    storage = tmp_path_factory.mktemp("export-results")
    for args in (
        ("lab1",),
        ("lab3-precisions", "--precisions", "minifloat_ieee"),
        ("lab2-nas",),
    ):
        ran = adls("run", *args, "--profile", "smoke", "--storage", str(storage), cwd=storage)
        assert ran.returncode == 0, ran.stderr[-3000:]
    return storage


def export(results: Path, experiment: str, target: str, out: Path, *extra: str) -> list[Path]:
    ran = adls("export", str(results / experiment), "--to", target, "-o", str(out), *extra, cwd=results)
    assert ran.returncode == 0, ran.stderr[-3000:]
    written = [Path(line) for line in ran.stdout.splitlines() if line.startswith(str(out))]
    assert written and all(path.is_file() for path in written)
    return written


def best_checkpoint(folder: Path) -> str:
    from analysis.best import best_records
    from analysis.results import load_results

    return best_records(load_results(folder))[0]["checkpoint"]


def _test_arrays(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The run's whole test split as one padded batch (input ids, attention mask)."""
    from trainables.data.batching import iterate_batches
    from trainables.trial_steps import open_data

    run = json.loads((folder / "run.json").read_text())
    data = open_data({"data": run["identity"]["data"]})
    batch = next(
        iter(
            iterate_batches(data.test, len(data.test), shuffle=False, pad_token_id=data.prepared.pad_token_id)
        )
    )
    return batch.input_ids.numpy(), batch.attention_mask.numpy()


FRESH = """
import sys, numpy as np, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
folder, arrays, out = sys.argv[1:4]
model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
tokenizer = AutoTokenizer.from_pretrained(folder)
assert len(tokenizer("a fine film")["input_ids"]) > 2
data = np.load(arrays)
with torch.no_grad():
    logits = model(input_ids=torch.from_numpy(data["ids"]), attention_mask=torch.from_numpy(data["mask"])).logits
np.save(out, logits.numpy())
"""


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_hf_folder_loads_in_a_fresh_process_and_predicts_as_the_compressed_model(
    results, experiment, tmp_path
):
    from trainables.models.checkpoint import load_model
    from trainables.models.export import load_compressed

    out = tmp_path / "hf"
    written = {path.name for path in export(results, experiment, "hf", out)}
    assert {"config.json", "model.safetensors", "README.md", "tokenizer.json"} <= written
    card = (out / "README.md").read_text()
    assert "cost_avg_linear_bits" in card and f"adls run {experiment}" in card

    ids, mask = _test_arrays(results / experiment)
    np.savez(tmp_path / "arrays.npz", ids=ids, mask=mask)
    # A fresh interpreter without this project on its path: plain transformers only.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH, str(out), str(tmp_path / "arrays.npz"), str(tmp_path / "plain.npy")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    plain = np.load(tmp_path / "plain.npy")

    compressed, _ = load_model(best_checkpoint(results / experiment))
    with torch.no_grad():
        reference = compressed.eval()(
            input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
        ).logits
        rebuilt = load_compressed(out)[0](
            input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
        ).logits
    assert torch.equal(rebuilt, reference)  # load_compressed: exact, activations included
    agreement = float((plain.argmax(-1) == reference.numpy().argmax(-1)).mean())
    assert agreement >= MIN_AGREEMENT


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_onnx_runs_in_onnx_runtime_within_half_a_point_of_adls(results, experiment, tmp_path):
    import onnx

    out = tmp_path / "onnx"
    export(results, experiment, "onnx", out)
    check = json.loads((out / "onnx_check.json").read_text())
    assert check["rows"] == len(_test_arrays(results / experiment)[0])
    assert check["difference_points"] <= 0.5
    recipe = json.loads((Path(best_checkpoint(results / experiment)) / "recipe.json").read_text())
    formats = {
        entry["config"]["name"] for key, entry in (recipe["quantization"] or {}).items() if key != "by"
    }
    other_formats = bool(formats - {"integer", None})
    assert check["max_logit_diff"] <= LOGIT_TOLERANCE
    assert check["agreement"] >= (MIN_AGREEMENT if other_formats else 0.99)
    graph = onnx.load(out / "model.onnx").graph
    quantize = [node for node in graph.node if node.op_type == "QuantizeLinear"]
    if formats == {"integer", None} and recipe["quantization"]["linear"]["config"]["data_in_width"] <= 16:
        assert len(quantize) == 14  # lab1's bert-tiny: 12 encoder Linears, pooler, classifier
    else:
        assert quantize == []  # fp32 (lab2-nas) or minifloat (lab3): no integer type to show
    if experiment == "lab1-prune":
        weights = [
            onnx.numpy_helper.to_array(i) for i in graph.initializer if i.data_type == onnx.TensorProto.INT8
        ]
        sparsity = float(pd.read_parquet(results / experiment / "trials.parquet")["sparsity"].min())
        matrices = [w for w in weights if w.ndim == 2]
        assert matrices and min(float((w == 0).mean()) for w in matrices) >= sparsity - 0.01


def test_mase_config_of_a_pruned_integer_model(results, tmp_path):
    import tomllib

    out = tmp_path / "mase"
    written = {path.name for path in export(results, "lab1-prune", "mase", out)}
    assert written == {"mase_quantize.toml", "mase_quantize.json", "mase_prune.toml", "mase_prune.json"}
    args = tomllib.loads((out / "mase_quantize.toml").read_text())
    layer = args["bert_encoder_layer_0_attention_self_query"]["config"]
    assert layer["name"] == "integer" and {"data_in_width", "weight_frac_width", "bias_width"} <= set(layer)
    assert json.loads((out / "mase_prune.json").read_text())["weight"]["method"] == "l1-norm"


def test_best_shows_the_export_command_and_bad_inputs_are_one_line(results, tmp_path):
    folder = results / "lab1-qat"
    best = adls("best", str(folder), cwd=tmp_path)
    command = next(line for line in best.stdout.splitlines() if "export:" in line).split("export: ", 1)[1]
    assert command.startswith(f"adls export {folder} --trial ")
    page = tmp_path / "page.html"
    assert adls("report", str(results), "-o", str(page), cwd=tmp_path).returncode == 0
    assert "Export the best: <code>adls export " in page.read_text()

    table = pd.read_parquet(folder / "trials.parquet")
    without = table[table["checkpoint"].isna()]["trial_id"].iloc[0]
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    cases = {
        "does not exist": ("export", str(tmp_path / "nowhere"), "--to", "hf", "-o", str(tmp_path / "a")),
        "has no checkpoint": (
            "export",
            str(folder),
            "--trial",
            str(without),
            "--to",
            "hf",
            "-o",
            str(tmp_path / "b"),
        ),
        "is not empty": ("export", str(folder), "--to", "onnx", "-o", str(occupied)),
        "invalid choice": ("export", str(folder), "--to", "tflite", "-o", str(tmp_path / "c")),
    }
    for expected, args in cases.items():
        ran = adls(*args, cwd=tmp_path)
        assert ran.returncode == 2 and expected in ran.stderr, (expected, ran.stderr)
        assert len(ran.stderr.strip().splitlines()) == 1
    assert (occupied / "keep.txt").read_text() == "mine"
    forced = adls("export", str(folder), "--to", "mase", "-o", str(occupied), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (occupied / "mase_quantize.toml").is_file()
    assert (
        [p for p in tmp_path.iterdir() if p.name.startswith("occupied.replaced-")][0]
        .joinpath("keep.txt")
        .is_file()
    )
