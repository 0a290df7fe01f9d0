"""One trial's wall-clock in-process, this tree against a baseline tree, and 2 torch threads against 1.

Trials (run directly with `local_context`, no Ray, on the profile's data and training settings):

- `lab1-prune`: a bert-tiny quantized to 8-bit fixed point (a lab1-qat best model stand-in),
  pruned at sparsity 0.7 with l1-norm (or `--method random`; weights and activations), evaluated, fine-tuned for the
  profile's `prune_epochs`, evaluated;
- `lab3`: a lab3-precisions-like trial: every Linear but the classifier in 8-bit integer, trained
  for the profile's `lab3_epochs`, evaluated before and after;
- `base`: the base model's fine-tuning (`base_epochs`, method `full`).

`--epochs E` shortens (or lengthens) the trial's training. `--baseline DIR` (a source tree, e.g. `git archive <commit> | tar -x -C DIR`) alternates
processes of the two trees, order swapped every round; each process runs `--warmups` untimed
trials (default 1) and then `--per-process` timed ones. `--threads 1,2` instead alternates torch threads in
one process (`local_context(cpus=N)`). Prints min and median per side and the ratio, writes
bench/out/trial_speed_<trial>_<profile>.json.

    PYTHONPATH=. .venv/bin/python bench/bench_trial_speed.py --trial lab1-prune --profile smoke \\
        --baseline /tmp/base-tree --rounds 3 --per-process 2
    PYTHONPATH=. .venv/bin/python bench/bench_trial_speed.py --trial base --profile smoke --threads 1,2
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
TRIALS = ("lab1-prune", "lab3", "base")


def trial_runner(
    trial: str, profile_name: str, work: Path, epochs: float | None = None, method: str = "l1-norm"
):
    """A function(cpus) that runs one trial and returns (seconds, metrics); setup is done here, once.

    `epochs` replaces the profile's training length of that trial (a shortened trial); `method` is
    lab1-prune's pruning method.
    """
    from dataclasses import replace

    import torch

    from search.options import RunOptions
    from trainables.compress import fixed_point_config, quantize_model
    from trainables.models.checkpoint import save_model
    from trainables.models.recipe import ModelRecipe, build_from_recipe
    from trainables.trial_context import local_context
    from trainables.trial_steps import open_data

    options = RunOptions(profile_name=profile_name)
    profile = options.profile
    if epochs is not None:
        profile = replace(profile, prune_epochs=epochs, lab3_epochs=epochs, base_epochs=epochs)
    config: dict[str, Any] = {"data": options.data_settings(), "train": options.train_settings(), "seed": 0}
    data = open_data(config)
    recipe = ModelRecipe(vocab_size=data.prepared.vocab_size, num_labels=data.prepared.num_labels, seed=0)
    model = build_from_recipe(recipe)
    if trial == "lab1-prune":
        from trainables.trials.lab1_prune import lab1_prune_trial as trial_fn

        recipe.quantization = fixed_point_config(8, 4)
        quantize_model(model, recipe.quantization)
        config |= {
            "start_checkpoint": str(save_model(model, recipe, work / "start")),
            "start_accuracy": 0.5,
            "start_width": 8,
            "finetune_epochs": profile.prune_epochs,
            "sparsity": 0.7,
            "method": method,
        }
    elif trial == "lab3":
        from search.experiments.spaces.precisions import format_config, knob_keys, layer_keys
        from trainables.trials.lab3 import lab3_trial as trial_fn

        layers = layer_keys(model)
        config |= {
            "start_checkpoint": str(save_model(model, recipe, work / "start")),
            "fp32_accuracy": 0.5,
            "layers": layers,
            "format": "integer",
            "format_config": format_config("integer"),
            "knob_keys": knob_keys("integer"),
            "train_epochs": profile.lab3_epochs,
        }
        for short in layers:
            fp32 = short.startswith("classifier")
            config |= {f"{short}.type": "fp32" if fp32 else "integer", f"{short}.width": 8}
            config |= {f"{short}.frac_width": 4}
    else:
        from trainables.trials.base import base_trial as trial_fn

        config |= {"base_epochs": profile.base_epochs, "base_method": "full", "pretrained": None}
    count = 0

    def run(cpus: int) -> tuple[float, dict[str, Any]]:
        nonlocal count
        count += 1
        ctx = local_context(work / f"trial-{count}", cpus=cpus)
        torch.manual_seed(0)
        start = time.perf_counter()
        metrics = trial_fn(dict(config), ctx)
        return time.perf_counter() - start, metrics

    return run


def worker(args: argparse.Namespace) -> None:
    """Run in a child: one warm-up trial, then the timed ones; prints one JSON line."""
    with tempfile.TemporaryDirectory(prefix="adls-trial-speed-") as work:
        run = trial_runner(args.trial, args.profile, Path(work), args.epochs, args.method)
        for _ in range(args.warmups):
            run(args.cpus)
        results = []
        for _ in range(args.per_process):
            seconds, metrics = run(args.cpus)
            results.append({"seconds": seconds, "progress_seconds": metrics.get("progress_seconds")})
    print("RESULT " + json.dumps(results), flush=True)


def child(tree: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    # This script with the tree's code first on the path (a baseline may predate this bench).
    command = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    command += ["--trial", args.trial, "--profile", args.profile]
    command += ["--per-process", str(args.per_process), "--cpus", str(args.cpus)]
    command += ["--warmups", str(args.warmups), "--method", args.method]
    command += ["--epochs", str(args.epochs)] if args.epochs is not None else []
    out = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in results]
    progress = [r["progress_seconds"] for r in results if r.get("progress_seconds") is not None]
    return {
        "min_s": min(seconds),
        "median_s": statistics.median(seconds),
        "progress_median_s": statistics.median(progress) if progress else None,
        "runs": results,
    }


def compare_trees(args: argparse.Namespace) -> dict[str, Any]:
    sides = {"this": HERE.parent, "baseline": Path(args.baseline).resolve()}
    results: dict[str, list] = {name: [] for name in sides}
    for round_ in range(args.rounds):
        order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
        for name in order:
            results[name] += child(sides[name], args)
            print(
                f"round {round_ + 1} {name}: {[round(r['seconds'], 2) for r in results[name][-args.per_process :]]}"
            )
    return {name: summary(runs) for name, runs in results.items()}


def compare_threads(args: argparse.Namespace) -> dict[str, Any]:
    counts = [int(n) for n in args.threads.split(",")]
    results: dict[int, list] = {n: [] for n in counts}
    with tempfile.TemporaryDirectory(prefix="adls-trial-speed-") as work:
        run = trial_runner(args.trial, args.profile, Path(work), args.epochs, args.method)
        for _ in range(args.warmups):
            run(counts[0])
        for round_ in range(args.rounds):
            order = counts if round_ % 2 == 0 else list(reversed(counts))
            for n in order:
                seconds, metrics = run(n)
                results[n].append({"seconds": seconds, "progress_seconds": metrics.get("progress_seconds")})
                print(f"round {round_ + 1} threads {n}: {seconds:.2f} s")
    return {f"threads_{n}": summary(runs) for n, runs in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trial", choices=TRIALS, default="lab1-prune")
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--baseline", help="a source tree to compare against (processes alternate)")
    parser.add_argument("--threads", help="torch thread counts to alternate in one process, e.g. 1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-process", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=1, help="torch threads per trial (with --baseline)")
    parser.add_argument("--epochs", type=float, help="the trial's training length instead of the profile's")
    parser.add_argument("--warmups", type=int, default=1, help="untimed trials first, per process")
    parser.add_argument("--method", default="l1-norm", help="lab1-prune's pruning method (l1-norm, random)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if bool(args.baseline) == bool(args.threads):
        parser.error("give one of --baseline DIR or --threads 1,2")
    os.environ.setdefault("ADLS_CACHE_DIR", tempfile.mkdtemp(prefix="adls-bench-cache-"))
    sides = compare_trees(args) if args.baseline else compare_threads(args)
    first, second = list(sides)
    ratio = {key: sides[first][key] / sides[second][key] for key in ("min_s", "median_s")}
    for name, side in sides.items():
        progress = side["progress_median_s"]
        print(
            f"{name:10} min {side['min_s']:7.2f} s  median {side['median_s']:7.2f} s"
            + (f"  progress evaluations (median) {progress:6.2f} s" if progress is not None else "")
        )
    print(f"{first} / {second}: min {ratio['min_s']:.3f}, median {ratio['median_s']:.3f}")
    load = os.getloadavg()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    record = {"trial": args.trial, "profile": args.profile, "load_avg": load, "sides": sides, "ratio": ratio}
    record["args"] = vars(args)
    method = "" if args.method == "l1-norm" else f"_{args.method}"
    (out / f"trial_speed_{args.trial}{method}_{args.profile}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
