"""`adls export RESULTS [--trial ID] --to hf|onnx|mase -o DIR [--force]`: hand a trial's model on.

The trial is the one `adls best RESULTS` ranks first unless --trial names one (its trial_id or
trial_index). One line per file written. Bad input (no such folder, a trial without a
checkpoint, a non-empty DIR without --force, a format the target cannot express) is one line
and exit status 2, raised before a model is loaded where it can be.
"""

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from errors import ConfigError, ResultsError

TARGETS = ("hf", "onnx", "mase")
# The ONNX check's promise: ONNX Runtime's accuracy within this of adls's own evaluation.
ACCURACY_TOLERANCE = 0.005
CHECK_FILE = "onnx_check.json"


def cmd_export(args: argparse.Namespace) -> int:
    from analysis.results import load_results

    out = _prepare_output(Path(args.output), args.force, dry=True)
    folder = Path(args.results)
    table = load_results(folder)
    row = _pick_trial(table, args.trial, folder)
    checkpoint = row.get("checkpoint")
    if not isinstance(checkpoint, str) or not checkpoint or not _has_model(checkpoint):
        raise ResultsError(
            f"trial {row.get('trial_index')} of {folder} has no checkpoint to export; pick one that has "
            f"(`adls best {folder} --top 5` lists them) or rerun the experiment with --keep-checkpoints"
        )
    run = _run_record(folder)
    from trainables.models.checkpoint import load_model

    model, recipe = load_model(checkpoint)
    model.eval()
    if args.to == "mase":
        from trainables.models.export import mase_prune_args

        mase_prune_args(recipe.pruning)  # a method MASE lacks is a ConfigError before anything is written
    if args.to == "onnx":
        from trainables.models.export.onnx_graph import onnx_ready

        _require_onnx()
        onnx_ready(model)  # a format ONNX cannot express is a ConfigError before anything is written
    _prepare_output(out, args.force, dry=False)
    facts = _card_facts(row, run, folder, args.to, recipe)
    if args.to == "hf":
        written, notes = _export_hf(model, recipe, checkpoint, out, facts)
    elif args.to == "onnx":
        written, notes = _export_onnx(model, row, run, out, facts)
    else:
        written, notes = _export_mase(model, recipe, out)
    for path in written:
        print(path)
    for note in notes:
        print(f"note: {note}")
    return 0


def _export_hf(model, recipe, checkpoint: str, out: Path, facts) -> tuple[list[Path], list[str]]:
    from trainables.models.export import export_hf

    facts.notes += [
        "model.safetensors holds the compressed weights (on the format's grid, pruned zeros kept): "
        "plain AutoModelForSequenceClassification.from_pretrained(folder) computes with them, with "
        "activations in fp32 and no activation pruning",
        "trainables.models.export.load_compressed(folder) rebuilds the fake-quantized model exactly "
        "(activations included) from config.json's adls_compression recipe and compression.safetensors",
    ]
    written = export_hf(model, recipe, out, checkpoint, facts)
    return written, facts.notes[-2:]


def _export_onnx(model, row, run: dict, out: Path, facts) -> tuple[list[Path], list[str]]:
    from trainables.models.export import model_card
    from trainables.models.export.onnx_check import check_onnx
    from trainables.models.export.onnx_graph import export_onnx
    from trainables.trial_steps import open_data

    path = out / "model.onnx"
    plan = export_onnx(model, path)
    data = open_data({"data": run["identity"]["data"]})
    check = check_onnx(path, model, data.test, pad_token_id=data.prepared.pad_token_id)
    metric, reference = _own_accuracy(row)
    lines = [*plan.notes, check.line()]
    record = {**check.__dict__, "reference_metric": metric, "reference_accuracy": reference}
    if reference is not None:
        gap = abs(check.onnx_accuracy - reference) * 100
        lines.append(f"adls's own evaluation: {metric}={reference:.4f}, difference {gap:.2f} points")
        record["difference_points"] = gap
    facts.notes += lines
    (out / CHECK_FILE).write_text(json.dumps(record, indent=1) + "\n")
    card = out / "README.md"
    card.write_text(model_card(facts))
    if reference is not None and abs(check.onnx_accuracy - reference) > ACCURACY_TOLERANCE:
        raise ResultsError(
            f"ONNX Runtime's accuracy {check.onnx_accuracy:.4f} is more than 0.5 points from adls's "
            f"{metric}={reference:.4f}; the files are in {out}, please report this with them"
        )
    return [path, out / CHECK_FILE, card], lines


def _export_mase(model, recipe, out: Path) -> tuple[list[Path], list[str]]:
    from trainables.compress.layers.quantized_linear import QuantizedLinear
    from trainables.models.export import write_mase

    written = write_mase(model, recipe.pruning, out)
    differ = sorted(
        {
            m.format_name
            for m in model.modules()
            if isinstance(m, QuantizedLinear)
            and m.format_name != "integer"
            and not m.config.get("mase_exact")
        }
    )
    notes = ["keys are torch.fx node names (module path with '_' for '.'), as MASE's `by: name` matches them"]
    if differ:
        notes.append(
            f"MASE computes {', '.join(differ)} with its own rounding, which differs from this run's "
            "(docs/formats.md); rerun with --mase-exact for MASE's values"
        )
    return written, notes


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise ConfigError(
            f"--to onnx needs {error.name}; install it with pip install -r requirements.txt "
            "(or the [export] extra)"
        ) from None


def _prepare_output(out: Path, force: bool, dry: bool) -> Path:
    """Refuse a non-empty `out` without --force; with it, move the old folder aside (never delete)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"-o {out} is a file; give a folder")
    busy = out.is_dir() and any(out.iterdir())
    if busy and not force:
        raise ConfigError(f"-o {out} is not empty; pass --force to move it aside, or pick another folder")
    if busy and not dry:
        aside = out.with_name(f"{out.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
        out.rename(aside)
        print(f"moved the old {out} aside to {aside}")
    if not dry:
        out.mkdir(parents=True, exist_ok=True)
    return out


def _pick_trial(table, trial: str | None, folder: Path) -> dict[str, Any]:
    from analysis.best import best_records

    if trial is None:
        records = best_records(table)
        if not records:
            raise ResultsError(f"{folder} has no finished trial to export; rerun it with --force")
        trial = str(records[0]["trial_id"])
    matches = table[(table["trial_id"].astype(str) == trial) | (table["trial_index"].astype(str) == trial)]
    if len(matches) == 0:
        raise ResultsError(
            f"{folder} has no trial {trial!r}; give a trial_id or trial_index that `adls best {folder} --top 5` shows"
        )
    if len(matches) > 1:
        ids = ", ".join(matches["trial_id"].astype(str))
        raise ResultsError(f"--trial {trial} matches several trials ({ids}); give its trial_id")
    return dict(matches.iloc[0])


def _has_model(checkpoint: str) -> bool:
    if "://" in checkpoint:
        return True
    return (Path(checkpoint) / "recipe.json").is_file()


def _run_record(folder: Path) -> dict[str, Any]:
    path = folder / "run.json"
    if not path.is_file():
        raise ResultsError(f"{folder} has no run.json (written by an older adls); rerun it with --force")
    return json.loads(path.read_text())


def _own_accuracy(row: dict[str, Any]) -> tuple[str | None, float | None]:
    """The accuracy adls reported for the trial: its objective when that is an accuracy, else `accuracy`."""
    candidates = [*str(row.get("objective") or "").split(","), "accuracy"]
    for metric in candidates:
        value = row.get(metric)
        if "accuracy" in metric and isinstance(value, int | float) and not math.isnan(value):
            return metric, float(value)
    return None, None


def _card_facts(row: dict[str, Any], run: dict[str, Any], folder: Path, target: str, recipe):
    from analysis.best import export_command, metrics_of
    from trainables.models.export import CardFacts

    identity = run.get("identity", {})
    metrics = metrics_of(row)
    shown = {key: value for key, value in metrics.items() if "accuracy" in key}
    for key in ("cost_avg_linear_bits", "cost_size_mb", "cost_sparsity", "cost_params"):
        if key in metrics:
            shown[key] = metrics[key]
    shown.update({key: value for key, value in metrics.items() if "bops" in key})
    profile = identity.get("profile") or run.get("profile", {}).get("name", "quick")
    seed = identity.get("seed", 0)
    storage = folder.parent
    command = f"adls run {row.get('experiment')} --profile {profile} --seed {seed} --storage {storage}"
    start = recipe.pretrained or run.get("model_source") or identity.get("start", {}).get("model", "?")
    return CardFacts(
        title=f"{row.get('experiment')} trial {row.get('trial_index')} (exported with adls, --to {target})",
        start_model=str(start),
        dataset=str(run.get("data_source") or identity.get("data", {}).get("dataset", "?")),
        search=f"{row.get('experiment')}/{row.get('variant')} in {folder}",
        trial=f"{row.get('trial_index')} ({row.get('trial_id')}): {row.get('params') or '-'}",
        metrics=shown,
        command=command,
        export_command=export_command(str(folder), row.get("trial_id"), target),
    )


def add_export_command(commands: Any) -> None:
    """Add `export` to the `adls` parser's subparsers."""
    export = commands.add_parser(
        "export",
        help="hand a trial's model on: a from_pretrained folder, ONNX (checked in ONNX Runtime), MASE",
    )
    export.add_argument("results", help="an experiment folder, e.g. results/lab1-qat")
    export.add_argument(
        "--trial", default=None, help="trial_id or trial_index (default: the one `adls best` ranks first)"
    )
    export.add_argument(
        "--to",
        required=True,
        choices=TARGETS,
        help="hf: save_pretrained folder; onnx: model.onnx; mase: pass args",
    )
    export.add_argument("-o", "--output", required=True, help="the folder to write (must be empty or absent)")
    export.add_argument("--force", action="store_true", help="move a non-empty output folder aside first")
    export.set_defaults(func=cmd_export)
