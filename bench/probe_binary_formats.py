"""Why does `binary_residual_sign` keep accuracy at 1 bit per weight? Ablations on one start model.

Every Linear of the stored base model (classifier included, as `lab3-precisions --layers all`)
takes one config; each row is then evaluated (PTQ), trained as a Lab 3 trial trains (the
profile's `lab3_epochs`, same seed and settings) and evaluated again. The rows separate what
binary_residual_sign adds over plain binary weights:

- `binary +-1` / `binary {0, mean|w|}`: the weight alone binarised, no learned scale.
- `residual sign, fp32 input`: +-1 weight times a learned per-layer |gamma|, input left in fp32
  (`data_in_residual_sign: false`): the learned scale alone.
- `residual sign, L levels`: the full format, input through L residual-sign levels.
- `binary_scaling`: input, weight and bias binarised, learned weight scale.
- `residual sign, 2 levels, MASE-exact`: the same with `mase_exact=True` (|gamma| starts at 1.0).
- `encoder Linears zeroed`: every encoder Linear outputs 0 (frozen): the embeddings pass through
  the residual connections and LayerNorms only, and the pooler reads the [CLS] token, which then
  sees no other token.
- `query, key zeroed (uniform attention)`: every attention head averages the tokens' values
  (fp32 otherwise): how much the learned attention pattern matters.

Prints a table and writes bench/out/binary_formats.json. One seed, one thread; the machine is shared.

    .venv/bin/python bench/probe_binary_formats.py --storage /work/results_quick [--profile quick]
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from analysis import load_results
from search.options import RunOptions
from trainables.compress import quantize_model
from trainables.trial_context import TrialContext
from trainables.trial_steps import accuracy, cost_metrics, majority_accuracy, open_data, train_model
from trainables.trials.lab3 import starting_model

BIPOLAR = {"weight_stochastic": False, "weight_bipolar": True}
RESIDUAL = {**BIPOLAR, "data_in_stochastic": False, "data_in_bipolar": True, "binary_training": True}
ROWS: dict[str, dict[str, Any] | None] = {
    "fp32 (trained the same)": None,
    "binary +-1": {"name": "binary", **BIPOLAR},
    "binary {0, mean|w|}": {"name": "binary", "weight_stochastic": False, "weight_bipolar": False},
    "residual sign, fp32 input": {"name": "binary_residual_sign", **RESIDUAL, "data_in_residual_sign": False},
    "residual sign, 1 level": {"name": "binary_residual_sign", **RESIDUAL, "data_in_levels": 1},
    "residual sign, 2 levels": {"name": "binary_residual_sign", **RESIDUAL, "data_in_levels": 2},
    "residual sign, 3 levels": {"name": "binary_residual_sign", **RESIDUAL, "data_in_levels": 3},
    "binary_scaling": {
        "name": "binary_scaling",
        **{f"{t}_stochastic": False for t in ("data_in", "weight", "bias")},
        "data_in_bipolar": True,
        "weight_bipolar": True,
        "bias_bipolar": False,
        "binary_training": True,
    },
}
ZEROED = "encoder Linears zeroed"
UNIFORM = "query, key zeroed (uniform attention)"
# MASE's own values (--mase-exact): the learned |gamma| starts at 1.0, not at mean |w|.
MASE_EXACT = {"residual sign, 2 levels, MASE-exact": "residual sign, 2 levels"}


def zero_encoder_linears(model: nn.Module, suffixes: tuple[str, ...] = ("",)) -> None:
    """Every encoder Linear whose name ends in one of `suffixes` outputs 0 and stays so."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and ".encoder." in f".{name}." and name.endswith(suffixes):
            with torch.no_grad():
                module.weight.zero_()
                module.bias.zero_()
            module.weight.requires_grad_(False)
            module.bias.requires_grad_(False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True, help="results folder holding base/ of the profile")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", default=None, help="row labels separated by ; (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    options = RunOptions(profile_name=args.profile, storage=args.storage, seed=args.seed)
    base = load_results(Path(args.storage) / "base")
    start = str(base["checkpoint"].dropna().iloc[0])
    config = {"data": options.data_settings(), "train": options.train_settings()}
    data = open_data(config)
    epochs = options.profile.lab3_epochs
    rows = []
    labels = [*ROWS, *MASE_EXACT, ZEROED, UNIFORM]
    if args.rows:
        labels = [label for label in labels if label in args.rows.split(";")]
    for label in labels:
        model, _ = starting_model(start)
        if label == ZEROED:
            zero_encoder_linears(model)
        elif label == UNIFORM:
            zero_encoder_linears(model, (".query", ".key"))
        elif label in MASE_EXACT:
            quantize_model(
                model, {"by": "type", "linear": {"config": ROWS[MASE_EXACT[label]]}}, mase_exact=True
            )
        elif ROWS[label] is not None:
            quantize_model(model, {"by": "type", "linear": {"config": ROWS[label]}})
        ctx = TrialContext(torch.device("cpu"), 1, Path("/tmp"), lambda metrics, path: None)
        started = time.perf_counter()
        ptq = accuracy(model, data, config, ctx)
        train_model(model, data, config, ctx, epochs=epochs)
        trained = accuracy(model, data, config, ctx)
        bits = cost_metrics(model)["cost_avg_linear_bits"]
        rows.append({"config": label, "ptq_accuracy": ptq, "accuracy": trained, "avg_linear_bits": bits})
        print(
            f"{label:28s} PTQ {ptq:.3f}  after {epochs} epoch {trained:.3f}  bits/weight {bits:5.2f}  "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    print(
        f"chance (majority class) {majority_accuracy(data):.3f}; start model {base['accuracy'].iloc[0]:.3f}"
    )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / f"binary_formats{'_' + str(len(rows)) if args.rows else ''}.json").write_text(
        json.dumps({"profile": args.profile, "seed": args.seed, "start": start, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
