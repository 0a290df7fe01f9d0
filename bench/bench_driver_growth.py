"""How the driver's own per-trial work grows with the trials of a search, without a cluster.

Two of our callbacks run in Tune's driver loop for every trial: the Grid sampler's ask
(search/study/samplers.py: TuneGridSampler) and the progress line (search/run/progress.py: TrialLedger,
three events a trial). Each should cost about the same at the 1,000th trial as at the first;
this prints the median cost per ask / event in windows of 50 trials and the total, and writes
bench/out/driver_growth.json. The real classes run in memory (the tutorial NAS grid, 4,800
points); the trials passed to the progress callback are stand-ins with Tune's status field.

    .venv/bin/python bench/bench_driver_growth.py                # 1,000 trials
    .venv/bin/python bench/bench_driver_growth.py --trials 3000
"""

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))  # run as a script: the project's packages

import optuna  # noqa: E402

from search.experiments.spaces.nas import get_space  # noqa: E402
from search.run.progress import TrialLedger  # noqa: E402
from search.study.samplers import make_sampler  # noqa: E402

OUT = PROJECT / "bench" / "out" / "driver_growth.json"
WINDOW = 50


def grid_asks(trials: int) -> list[float]:
    """Seconds per ask+tell of the Grid sampler on the tutorial space, trial by trial."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    grid = get_space("tutorial").grid()
    sampler, _ = make_sampler("grid", 0, grid)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    space = {name: optuna.distributions.CategoricalDistribution(values) for name, values in grid.items()}
    seconds = []
    for _ in range(trials):
        started = time.perf_counter()
        trial = study.ask(space)
        study.tell(trial, 0.5)
        seconds.append(time.perf_counter() - started)
    return seconds


def progress_events(trials: int) -> list[float]:
    """Seconds per trial of the progress callback's three events (start, result, complete)."""
    ledger = TrialLedger("bench/grid", "accuracy", "max", trials, stream=io.StringIO(), bar=False)
    seen: list[SimpleNamespace] = []
    seconds = []
    for i in range(trials):
        trial = SimpleNamespace(trial_id=f"t{i}", status="RUNNING", last_result={}, config={"i": i})
        seen.append(trial)
        started = time.perf_counter()
        ledger.on_trial_start(0, seen, trial)
        ledger.on_trial_result(0, seen, trial, {"accuracy": (i * 7919 % 1000) / 1000})
        ledger.on_trial_complete(0, seen, trial)
        seconds.append(time.perf_counter() - started)
        trial.status = "TERMINATED"  # as Tune sets it after the callbacks
    return seconds


def windows(seconds: list[float]) -> list[list[float]]:
    """[(first trial of the window, median ms)] per WINDOW trials."""
    return [
        [start, statistics.median(seconds[start : start + WINDOW]) * 1000]
        for start in range(0, len(seconds), WINDOW)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    report = {"trials": args.trials, "load_average": os.getloadavg(), "parts": {}}
    for name, measure in (("grid_ask_tell", grid_asks), ("progress_events", progress_events)):
        seconds = measure(args.trials)
        by_window = windows(seconds)
        report["parts"][name] = {"total_seconds": sum(seconds), "median_ms_by_window": by_window}
        first, last = by_window[0][1], by_window[-1][1]
        print(
            f"{name:<16} total {sum(seconds):7.2f} s   median ms: first {WINDOW} trials {first:.3f}, "
            f"last {WINDOW} {last:.3f} (x{last / first:.1f})"
        )
    print(f"load average {report['load_average']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
