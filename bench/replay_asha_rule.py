"""Replay early-stopping rules on the progress reports of real FIFO searches: which could meet the target?

Reads the FIFO searches bench/bench_early_stopping.py saved (bench/out/early_stopping_runs/
seed*-fifo: Tune's result.json of every trial, progress reports at 1/4, 1/2 and 3/4 of the epoch)
and applies Ray Tune's asynchronous successive-halving rule (`_Bracket` in
ray/tune/schedulers/async_hyperband.py: rungs at grace * rf^k, a trial stops when its score is
below the (1 - 1/rf) percentile of the scores recorded at the rung before it) to those trials,
one at a time in their launch order. Per rule: the share of FIFO's epochs it would have trained
and how far its best finished trial is below FIFO's best. A replay, not a run: one trial at a
time (a real search runs two at once, which lets more through) and the same trials as FIFO (a
real ASHA search's sampler sees the stopped trials and proposes others). Also the synchronous
rule of `--scheduler sha` (search/schedulers/sync_halving.py): trials in batches of 4 in launch order, the
best of each batch by `eval_loss` at 1/4 finishes, the rest stop there. Writes
bench/out/asha_replay.json.

    PYTHONPATH=. .venv/bin/python bench/replay_asha_rule.py
"""

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "out"
RUNS = OUT / "early_stopping_runs"
RUNG_SLACK = 0.98  # as search/schedulers/early_stopping.py
# (score, grace fraction, reduction factor); the score is maximised (the loss negated).
RULES = {
    "accuracy, grace 1/4, rf 3 (before)": ("eval_accuracy", 0.25, 3),
    "loss, grace 1/4, rf 3": ("eval_loss", 0.25, 3),
    "loss, grace 1/4, rf 4 (now)": ("eval_loss", 0.25, 4),
    "loss, grace 1/4, rf 8": ("eval_loss", 0.25, 8),
    "loss, grace 1/2, rf 4": ("eval_loss", 0.5, 4),
}


def load_trials(search: Path) -> list[dict]:
    """Each trial of one saved search, in launch order: its final accuracy and progress reports."""
    trials = []
    for result in search.glob("tune/*/*/result.json"):
        lines = [json.loads(line) for line in result.read_text().splitlines() if line.strip()]
        final = [line["accuracy"] for line in lines if "accuracy" in line]
        progress = [line for line in lines if "eval_loss" in line and "epoch" in line]
        number = int(re.match(r".*?_trial_[0-9a-f]+_(\d+)_", result.parent.name).group(1))
        if final:
            trials.append({"number": number, "accuracy": final[-1], "progress": progress})
    return sorted(trials, key=lambda trial: trial["number"])


def replay(trials: list[dict], metric: str, grace: float, rf: float) -> tuple[float, float]:
    """(epochs trained / FIFO's, best finished accuracy) under the rule, trials one after another."""
    rungs, rung = [], grace * RUNG_SLACK
    while rung < 1:
        rungs.append(rung)
        rung *= rf
    recorded: list[list[float]] = [[] for _ in rungs]
    epochs, best = 0.0, float("-inf")
    for trial in trials:
        trained, judged = 1.0, set()
        for report in trial["progress"]:
            # As Tune does per result: the highest rung the report reached that has no score of it yet.
            due = [k for k, at in enumerate(rungs) if report["epoch"] >= at and k not in judged]
            if not due:
                continue
            index = due[-1]
            judged.add(index)
            score = report[metric] * (-1 if metric == "eval_loss" else 1)
            cutoff = np.percentile(recorded[index], (1 - 1 / rf) * 100) if recorded[index] else None
            recorded[index].append(score)
            if cutoff is not None and score < cutoff:
                trained = report["epoch"]
                break
        epochs += trained
        if trained == 1.0:
            best = max(best, trial["accuracy"])
    return epochs / len(trials), best


def replay_sync(trials: list[dict], batch: int, rf: float, rung: float) -> tuple[float, float]:
    """(epochs trained / FIFO's, best finished accuracy) when batches of `batch` are ranked at `rung`."""
    epochs, best = 0.0, float("-inf")
    for start in range(0, len(trials), batch):
        group = trials[start : start + batch]
        ranked = sorted(group, key=lambda trial: _loss_at(trial, rung))
        keep = max(1, math.ceil(len(group) / rf))
        for trial in ranked[:keep]:
            epochs += 1.0
            best = max(best, trial["accuracy"])
        epochs += rung / RUNG_SLACK * (len(group) - keep)
    return epochs / len(trials), best


def _loss_at(trial: dict, rung: float) -> float:
    reached = [report["eval_loss"] for report in trial["progress"] if report["epoch"] >= rung]
    return reached[0] if reached else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=Path, default=RUNS, help="the bench's saved searches")
    runs = parser.parse_args().runs
    searches = sorted(runs.glob("seed*-fifo"))
    if not searches:
        raise SystemExit(f"no saved FIFO searches under {runs}: run bench/bench_early_stopping.py first")
    seeds = {search.name: load_trials(search) for search in searches}
    print(f"{len(seeds)} FIFO searches ({', '.join(f'{k}: {len(v)} trials' for k, v in seeds.items())})")
    print(f"{'rule':38s} {'epochs share':>12s} {'points below FIFO best':>23s}")
    table = {}
    for name, (metric, grace, rf) in RULES.items():
        shares, below = [], []
        for trials in seeds.values():
            share, best = replay(trials, metric, grace, rf)
            shares.append(share)
            below.append(100 * (max(t["accuracy"] for t in trials) - best))
        table[name] = {"epochs_share": shares, "points_below": below}
        print(f"{name:38s} {np.mean(shares):12.2f} {np.mean(below):12.2f} (worst {max(below):.2f})")
    name = "sha: loss at 1/4, batches of 4, rf 4"
    shares, below = [], []
    for trials in seeds.values():
        share, best = replay_sync(trials, 4, 4, 0.25 * RUNG_SLACK)
        shares.append(share)
        below.append(100 * (max(t["accuracy"] for t in trials) - best))
    table[name] = {"epochs_share": shares, "points_below": below}
    print(f"{name:38s} {np.mean(shares):12.2f} {np.mean(below):12.2f} (worst {max(below):.2f})")
    OUT.mkdir(exist_ok=True)
    (OUT / "asha_replay.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
