"""lab1-prune through a real Ray Tune run, starting from a prepared lab1-qat result (no base, no QAT run)."""

import math

import pandas as pd

from analysis import load_results
from search import storage
from search.options import RunOptions
from search.run.results_table import write_table
from search.run_plan import RunPlan
from search.runner import run
from trainables.compress import fixed_point_config, quantize_model
from trainables.models.checkpoint import save_model
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_steps import open_data

SMALL_ARCH = {"num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 32, "intermediate_size": 64}
# (width, status, qat_accuracy): 32 and 16 tie, so the smaller model (fewer weight bits) must win
# although 32 was launched first; the failed trial and the one without a checkpoint must be
# ignored although their accuracy is higher.
QAT_TRIALS = [(8, "TERMINATED", 0.60), (32, "TERMINATED", 0.75), (16, "TERMINATED", 0.75), (4, "ERROR", 0.9)]


def prepare_lab1_qat(options: RunOptions) -> dict[int, str]:
    """Write a finished lab1-qat result as the runner would: checkpoints, trials.parquet, run.json."""
    folder = storage.join(storage.normalize(options.storage), "lab1-qat")
    data = open_data({"data": options.data_settings()})
    rows, checkpoints = [], {}
    for index, (width, status, qat_accuracy) in enumerate(QAT_TRIALS):
        recipe = ModelRecipe(data.prepared.vocab_size, data.prepared.num_labels, arch=SMALL_ARCH, seed=width)
        model = build_from_recipe(recipe)
        recipe.quantization = fixed_point_config(width, width // 2)
        quantize_model(model, recipe.quantization)
        checkpoint = str(save_model(model, recipe, f"{folder}/checkpoints/{width}"))
        checkpoints[width] = checkpoint
        rows.append(
            {
                "experiment": "lab1-qat",
                "variant": "qat",
                "repeat": 0,
                "trial_index": index,
                "width": width,
                "frac_width": width // 2,
                "qat_accuracy": qat_accuracy,
                "cost_weight_bits": width * 1000,
                "status": status,
                "checkpoint": checkpoint if status == "TERMINATED" else None,
            }
        )
    rows.append({**rows[0], "trial_index": 4, "width": 12, "qat_accuracy": 0.95, "checkpoint": None})
    write_table(rows, folder)
    identity = RunPlan(options).identity("lab1-qat")
    storage.write_json(f"{folder}/run.json", {"identity": identity, "run_id": "prepared", "inputs": {}})
    return checkpoints


def test_lab1_prune_starts_from_the_best_qat_checkpoint_and_sweeps_the_grid(ray_session, tmp_path):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path))
    checkpoints = prepare_lab1_qat(options)
    tables = run("lab1-prune", options)

    assert not (tmp_path / "base").exists()  # the stored lab1-qat result was used as it is
    table = load_results(tmp_path / "lab1-prune")
    pd.testing.assert_frame_equal(table, tables["lab1-prune"], check_dtype=False)
    points = sorted(zip(table["sparsity"], table["method"], strict=True))
    assert points == [(0.3, "l1-norm"), (0.3, "random"), (0.7, "l1-norm"), (0.7, "random")]
    assert (table["status"] == "TERMINATED").all()
    # --keep-checkpoints 1: the best of each search (random, l1-norm) keeps its checkpoint.
    assert table.groupby("variant")["checkpoint"].count().tolist() == [1] * table["variant"].nunique()
    assert (table["start_width"] == 16).all() and (table["start_accuracy"] == 0.75).all()
    assert (table["start_checkpoint"] == checkpoints[16]).all()
    assert (table["cost_avg_linear_bits"] == 16.0).all()  # pruned on top of the 16-bit model
    for column in ("pruned_accuracy", "finetuned_accuracy"):
        assert table[column].between(0, 1).all()
    assert (table.groupby("sparsity")["cost_sparsity"].mean().diff().dropna() > 0).all()
    assert table["sampler"].eq("grid").all()

    assert (tmp_path / "lab1-prune" / "lab1-prune.png").stat().st_size > 10_000
    plotted = pd.read_csv(tmp_path / "lab1-prune" / "lab1-prune.csv")
    assert sorted(zip(plotted["sparsity"], plotted["method"], strict=True)) == points
    assert not plotted[["pruned_accuracy", "finetuned_accuracy"]].isna().any().any()

    # Reuse, then staleness: a new lab1-qat result makes the stored lab1-prune result out of date.
    again = run("lab1-prune", options)
    pd.testing.assert_frame_equal(again["lab1-prune"], table)
    stored = storage.read_json(str(tmp_path / "lab1-prune" / "run.json"))
    assert stored["inputs"] == {"lab1-qat": "prepared"} and RunPlan(options).has_results("lab1-prune")
    qat_run = tmp_path / "lab1-qat" / "run.json"
    storage.write_json(str(qat_run), {**storage.read_json(str(qat_run)), "run_id": "rerun"})
    assert RunPlan(options).changed_inputs(stored) == ["lab1-qat"]
    assert not RunPlan(options).has_results("lab1-prune")
    assert not math.isnan(table["finetuned_accuracy"].max())
