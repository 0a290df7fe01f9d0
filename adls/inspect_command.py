"""`adls inspect CHECKPOINT | results/<name> [--trial ID] [--csv]`: a saved model, layer by layer."""

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Any

from errors import ResultsError

COLUMNS = (
    "module",
    "kind",
    "format",
    "format_params",
    "bits_per_weight",
    "weight_sparsity",
    "activation_pruning",
    "params",
)


def add_inspect_command(commands: Any) -> None:
    """Register `adls inspect` on the CLI's subparsers."""
    inspect = commands.add_parser(
        "inspect",
        help="per-layer number formats, bits, sparsity and pruning of a checkpoint or of a results "
        "folder's best trial, no Ray",
    )
    inspect.add_argument(
        "target", help="a checkpoint folder (recipe.json + model.pt) or a results folder (results/lab1-qat)"
    )
    inspect.add_argument(
        "--trial", default=None, help="a results folder's trial id (default: its best trial)"
    )
    inspect.add_argument(
        "--csv", action="store_true", help="CSV on stdout: one row per layer, then the total"
    )
    inspect.set_defaults(func=cmd_inspect)


def cmd_inspect(args: argparse.Namespace) -> int:
    from trainables.models.checkpoint import load_model
    from trainables.models.inspect_model import inspect_model

    checkpoint, label = resolve_checkpoint(args.target, args.trial)
    try:
        model, recipe = load_model(checkpoint)
    except FileNotFoundError as error:
        raise ResultsError(
            f"{error}; the trial's checkpoint is gone, rerun the experiment with --force"
        ) from None
    layers, totals = inspect_model(model)
    rows = [layer.as_row() for layer in layers]
    total = {
        "module": "total",
        "kind": type(model).__name__,
        "format": "",
        "format_params": "",
        "bits_per_weight": totals["weight_bits"] / totals["params"] if totals["params"] else math.nan,
        "weight_sparsity": totals["sparsity"],
        "activation_pruning": "",
        "params": totals["params"],
    }
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows([*rows, total])
        return 0
    kind = f"{type(model).__name__}, {recipe.model_type} family, {recipe.num_labels} classes"
    print(f"{label}: {checkpoint} ({kind})")
    print(_table([*rows, total]))
    print("totals (model_cost): " + ", ".join(f"{key}={_cell(value)}" for key, value in totals.items()))
    return 0


def resolve_checkpoint(target: str, trial: str | None = None) -> tuple[str, str]:
    """(checkpoint folder, what it is) for a checkpoint folder or a results folder's best (or given) trial."""
    from analysis.best import best_trials
    from analysis.paths import resolve_path
    from analysis.results import load_results

    path = Path(target)
    if (path / "recipe.json").is_file():
        if trial is not None:
            raise ResultsError(f"--trial {trial} needs a results folder; {target} is one checkpoint")
        return str(path), "checkpoint"
    if not (path / "trials.parquet").is_file():
        raise ResultsError(
            f"{target} is neither a checkpoint (recipe.json + model.pt) nor a results folder "
            "(trials.parquet); give e.g. results/lab1-qat"
        )
    table = load_results(path)
    if trial is None:
        # Only kept checkpoints can be inspected (--keep-checkpoints drops the rest): the best of those.
        kept = table[table["checkpoint"].notna()] if "checkpoint" in table.columns else table
        picked = best_trials(kept, k=1)
        if picked.empty:
            raise ResultsError(
                f"{target} has no finished trial with a kept checkpoint; rerun it with --force "
                "--keep-checkpoints all, or give --trial ID"
            )
        row = picked.iloc[0]
        label = f"{row['experiment']} best trial {row['trial_id']} ({row['rule']})"
    else:
        chosen = table[table["trial_id"].astype(str) == trial]
        if chosen.empty:
            known = ", ".join(table["trial_id"].astype(str).head(20))
            raise ResultsError(f"--trial {trial!r} is not a trial of {target}; its trials: {known}")
        row = chosen.iloc[0]
        label = f"{row['experiment']} trial {trial}"
    model = row.get("model") if isinstance(row.get("model"), str) else "bert-tiny"
    label += f" [model {model}, data {row.get('dataset', '?')}]"
    checkpoint = resolve_path(row.get("checkpoint"), path)
    if not checkpoint:
        raise ResultsError(f"{label} of {target} saved no checkpoint (status {row.get('status')})")
    return checkpoint, label


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(rows: list[dict[str, Any]]) -> str:
    """Rows as aligned text columns (numbers right-aligned)."""
    cells = [[_cell(row[c]) for c in COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    numeric = {"bits_per_weight", "weight_sparsity", "params"}

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if c in numeric else v.ljust(w)
            for c, v, w in zip(COLUMNS, values, widths, strict=True)
        ).rstrip()

    return "\n".join([line(list(COLUMNS)), *(line(r) for r in cells)])
