"""Early stopping that keeps the answer: lab2-nas (TPE, quick profile) with and without it, over seeds.

For each seed, the same TPE search of the quick NAS space runs once per scheduler in one Ray
session: FIFO (no early stopping), `--scheduler sha` (synchronous successive halving: trials pause
at 1/4 of their epoch, the best of each batch of 4 finishes) and `--scheduler asha` (Tune's
asynchronous ASHA), in an order rotated per seed (search/schedulers/early_stopping.py). Per run: the best
final accuracy among finished trials and the total trial-seconds (Tune's time of every trial,
stopped ones included; a paused trial's clock stops while it waits and goes on when it resumes).
Target, per early-stopping scheduler: its best within 0.5 points of FIFO's, at <= 50% of FIFO's
trial-seconds.
The accuracy half means something only if the models learn: every search's best must be at
least LEARNED_MARGIN above the test split's majority share (printed), or the bench reports MISS.

`--train-rows/--test-rows` cap the data of both sides alike (the table's header says so); the
progress-report cost (`progress_seconds`, the 512-row evaluations during training) is printed
as a share of the finished trials' training time on each side.

Prints a table, writes bench/out/early_stopping.json, and draws best-so-far accuracy against
cumulative trial-seconds (mean and band over seeds) to bench/out/early_stopping.png (+ .csv).

    PYTHONPATH=. .venv/bin/python bench/bench_early_stopping.py [--seeds 3] [--budget 12]
        [--schedulers fifo,sha,asha] [--train-rows N --test-rows N]

`--budget 12` (trials per search) runs the 9 searches in about 8 minutes on 2 cores; the
profile's 20 take longer. Capping rows makes trials faster but later to learn in the epoch.
"""

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd

from analysis.curves import band_on_grid, best_so_far_by_cost
from analysis.figure_io import new_axes, save
from search.experiments.lab2_nas import nas_variants
from search.options import RunOptions
from search.ray_session.connect import start_ray
from search.run.tuner import run_variant
from trainables.trial_steps import majority_accuracy, open_data

ACCURACY_POINTS, SECONDS_SHARE = 0.5, 0.5
# A search "learned" when its best is this far above always answering the majority label.
LEARNED_MARGIN = 0.05
TRIAL_EPOCHS = RunOptions(profile_name="quick").profile.epochs
KEPT_COLUMNS = [
    "seed",
    "scheduler",
    "trial_index",
    "status",
    "accuracy",
    "eval_accuracy",
    "eval_loss",
    "epoch",
    "rung",
    "duration_s",
    "train_seconds",
    "progress_seconds",
]
OUT = Path(__file__).parent / "out"


def bench_options(seed: int, scheduler: str, caps: dict, folder: Path) -> RunOptions:
    """The quick profile's options of one search (both sides alike but for the scheduler)."""
    return RunOptions(profile_name="quick", seed=seed, scheduler=scheduler, storage=str(folder), **caps)


def run_search(seed: int, scheduler: str, budget: int | None, caps: dict, folder: Path) -> pd.DataFrame:
    options = bench_options(seed, scheduler, caps, folder)
    (variant,) = nas_variants(options, samplers=("tpe",))
    if budget:
        variant.num_samples = budget
    rows = run_variant("lab2-nas", variant, options, str(folder / f"seed{seed}-{scheduler}"))
    table = pd.DataFrame(rows)
    table["scheduler"], table["seed"] = scheduler, seed
    return table.reindex(columns=KEPT_COLUMNS)


def summary(table: pd.DataFrame) -> dict:
    done = table[table["status"] == "TERMINATED"]
    return {
        "best_accuracy": float(done["accuracy"].max()),
        "trial_seconds": float(table["duration_s"].sum()),
        # Epochs trained, summed over trials (a finished trial trained the profile's one epoch): the
        # work done, independent of how loaded the machine was while it ran.
        "epochs_trained": float(
            sum(row.epoch if row.status == "STOPPED" else TRIAL_EPOCHS for row in table.itertuples())
        ),
        # The progress evaluations' share of the finished trials' training time.
        "progress_share": float(done["progress_seconds"].sum() / done["train_seconds"].sum()),
        "trials": int(len(table)),
        "stopped": int((table["status"] == "STOPPED").sum()),
        "failed": int((table["status"] == "ERROR").sum()),
    }


SCHEDULER_STYLE = {
    "fifo": ("no early stopping (FIFO)", "tab:blue"),
    "sha": ("synchronous halving (sha)", "tab:green"),
    "asha": ("ASHA", "tab:orange"),
}


def draw(tables: pd.DataFrame, budget: int, caps: dict) -> Path:
    capped = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in caps.items() if v is not None)
    figure, axes = new_axes(
        f"lab2-nas (TPE, quick, {budget} trials/search{', ' + capped if capped else ''}): best accuracy so far",
        "cumulative trial-seconds",
        "best accuracy so far",
    )
    points = []
    for scheduler, (label, color) in SCHEDULER_STYLE.items():
        if scheduler not in set(tables["scheduler"]):
            continue
        curves = best_so_far_by_cost(tables[tables["scheduler"] == scheduler], "accuracy", by=("seed",))
        band = band_on_grid(curves, "cumulative_cost", "best_so_far", by="seed")
        axes.plot(
            band["cumulative_cost"], band["mean"], color=color, label=f"{label}, mean of {band['curves'][0]}"
        )
        axes.fill_between(band["cumulative_cost"], band["lowest"], band["highest"], color=color, alpha=0.2)
        points.append(band.assign(scheduler=scheduler))
    axes.legend(loc="lower right")
    return save(figure, pd.concat(points), OUT, "early_stopping")


def compare(results: dict[str, dict], scheduler: str, majority: float) -> dict:
    """Print one early-stopping scheduler's runs against FIFO's, seed by seed; returns the comparison."""
    print(
        f"{'seed':>4s} {'FIFO best':>10s} {scheduler + ' best':>10s} {'diff pts':>9s} {'FIFO s':>8s} "
        f"{scheduler + ' s':>8s} {'share':>6s} {'epochs share':>12s} stopped"
    )
    diffs, shares, epoch_shares = [], [], []
    for seed in sorted({int(key.split("/")[0]) for key in results}):
        fifo, other = results[f"{seed}/fifo"], results[f"{seed}/{scheduler}"]
        diffs.append(100 * (fifo["best_accuracy"] - other["best_accuracy"]))
        shares.append(other["trial_seconds"] / fifo["trial_seconds"])
        epoch_shares.append(other["epochs_trained"] / fifo["epochs_trained"])
        print(
            f"{seed:4d} {fifo['best_accuracy']:10.4f} {other['best_accuracy']:10.4f} {diffs[-1]:9.2f} "
            f"{fifo['trial_seconds']:8.0f} {other['trial_seconds']:8.0f} {shares[-1]:6.2f} "
            f"{epoch_shares[-1]:12.2f} {other['stopped']}/{other['trials']}"
        )
    mean_diff, mean_share = sum(diffs) / len(diffs), sum(shares) / len(shares)
    lowest_best = min(
        r["best_accuracy"] for key, r in results.items() if key.split("/")[1] in ("fifo", scheduler)
    )
    learned = lowest_best >= majority + LEARNED_MARGIN
    ok = learned and mean_diff <= ACCURACY_POINTS and mean_share <= SECONDS_SHARE
    print(
        f"mean: {scheduler}'s best {mean_diff:.2f} points below FIFO's (target <= {ACCURACY_POINTS}), "
        f"{100 * mean_share:.0f}% of its trial-seconds (target <= {100 * SECONDS_SHARE:.0f}%): "
        f"{'ok' if ok else 'MISS'}; worst seed {max(diffs):.2f} points, {100 * max(shares):.0f}%; "
        f"epochs trained {100 * sum(epoch_shares) / len(epoch_shares):.0f}% of FIFO's\n"
    )
    return {
        "accuracy_points_below_fifo": diffs,
        "trial_seconds_share": shares,
        "epochs_trained_share": epoch_shares,
        "mean_points_below": mean_diff,
        "mean_share": mean_share,
        "lowest_best": lowest_best,
        "learned": learned,
        "target_met": ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=None, help="trials per search (default: the profile's)")
    parser.add_argument(
        "--schedulers", default="fifo,sha,asha", help="comma-separated; fifo is always run (the reference)"
    )
    parser.add_argument("--train-rows", type=int, default=None, help="cap the training rows (both sides)")
    parser.add_argument("--test-rows", type=int, default=None, help="cap the test rows (both sides)")
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="run seeds from this one (a second process can share the work)",
    )
    parser.add_argument(
        "--from-saved",
        action="store_true",
        help="summarise and draw the searches a run saved, without running",
    )
    args = parser.parse_args()
    schedulers = ["fifo", *[s for s in args.schedulers.split(",") if s and s != "fifo"]]
    unknown = [s for s in schedulers if s not in SCHEDULER_STYLE]
    if unknown:
        raise SystemExit(f"--schedulers: unknown {unknown}; choose from {list(SCHEDULER_STYLE)}")
    caps = {"train_rows": args.train_rows, "test_rows": args.test_rows}
    folder = OUT / "early_stopping_runs"
    if not args.from_saved:
        if args.first_seed == 0:
            shutil.rmtree(folder, ignore_errors=True)
        start_ray(RunOptions(profile_name="quick"))
    started = time.perf_counter()
    tables, results = [], {}
    seeds = list(range(args.first_seed, args.seeds))
    if args.from_saved:  # only seeds whose searches all finished
        seeds = [
            s for s in range(args.seeds) if all((folder / f"seed{s}-{x}.csv").exists() for x in schedulers)
        ]
    for seed in seeds:
        shift = seed % len(schedulers)
        for scheduler in schedulers[shift:] + schedulers[:shift]:
            if args.from_saved:
                table = pd.read_csv(folder / f"seed{seed}-{scheduler}.csv")
            else:
                table = run_search(seed, scheduler, args.budget, caps, folder)
            # Each search's rows as soon as it ends: an interrupted bench keeps what it measured.
            table.to_csv(folder / f"seed{seed}-{scheduler}.csv", index=False)
            tables.append(table)
            results[f"{seed}/{scheduler}"] = summary(table)
            print(f"seed {seed} {scheduler}: {results[f'{seed}/{scheduler}']}", flush=True)
    all_rows = pd.concat(tables, ignore_index=True)
    majority = majority_accuracy(open_data({"data": bench_options(0, "fifo", caps, folder).data_settings()}))
    budget = args.budget or RunOptions(profile_name="quick").profile.nas_budget
    print(
        f"\nlab2-nas, TPE, quick profile, {budget} trials per search, rows capped: {caps}; "
        f"test split's majority share {majority:.4f}\n"
    )
    comparisons = {scheduler: compare(results, scheduler, majority) for scheduler in schedulers[1:]}
    progress = {
        name: sum(r["progress_share"] for key, r in results.items() if key.endswith("/" + name)) / len(seeds)
        for name in schedulers
    }
    print(
        "progress evaluations, share of finished trials' training time: "
        + ", ".join(f"{name} {100 * share:.1f}%" for name, share in progress.items())
    )
    png = draw(all_rows, budget, caps)
    load = os.getloadavg()
    print(
        f"figure: {png}; wall time {time.perf_counter() - started:.0f} s; load average at the end "
        f"{load[0]:.1f} (1 min), {load[2]:.1f} (15 min) on {os.cpu_count()} CPUs"
    )
    OUT.mkdir(exist_ok=True)
    all_rows.to_csv(OUT / "early_stopping_trials.csv", index=False)
    (OUT / "early_stopping.json").write_text(
        json.dumps(
            {
                "runs": results,
                "comparisons": comparisons,
                "budget": budget,
                "caps": caps,
                "majority_share": majority,
                "progress_share": progress,
                "wall_s": time.perf_counter() - started,
                "load_average_at_end": load,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
