"""Ray's fixed cost: `adls run lab1-qat` through Ray Tune against the same trials run in-process.

Two measurements, each side run as its own process, paired and in alternating order per repeat:

1. quick (or --profile): `adls run lab1-qat` end to end (CLI start, ray.init, the Tuner, its
   workers, shutdown) against `--inprocess`: one process that imports the same trial function and
   runs the same grid points with the same settings (search.run.tuner.trial_settings) through
   `local_context`, with as many forked processes at once as Ray runs trials (one per CPU). Both
   start from one stored `base` (made first, not timed); the Ray side's lab1-qat folder is deleted
   before each repeat. Both sides' qat_accuracy per width must agree (same seeds, same code).
2. smoke: `adls run lab1-qat --profile smoke` into a fresh folder (base trained too), end to end;
   with --baseline PATH also the same command with PYTHONPATH=PATH (e.g. a checkout of the code
   before a change), alternating.

Wall seconds and CPU seconds per side: user + system of every process of the side's process tree
(Ray's daemons and workers included), sampled every 0.5 s, so the last half second of a process
may be missed; min and median; the overhead is Ray / in-process - 1. On a loaded machine the CPU
seconds are the steadier of the two. Writes
bench/out/ray_overhead.json (--out). Targets (issue 15): overhead <= 8% on quick, smoke <= 15 s.

    PYTHONPATH=. .venv/bin/python bench/bench_ray_overhead.py [--repeats 2] [--smoke-repeats 3]
        [--baseline /path/to/old/checkout] [--skip-quick] [--skip-smoke] [--out NAME.json]
"""

import argparse
import itertools
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
WORK = OUT / "ray_overhead"
OVERHEAD_TARGET = 0.08
SMOKE_TARGET_S = 15.0


def timed(command: list[str], pythonpath: Path = ROOT) -> dict[str, float]:
    """Run `command` (output to a log), return its wall and CPU seconds; fail loudly on an error."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-ray-", suffix=".log", delete=False)
    started = time.perf_counter()
    # Run from the side's own checkout: `python -m adls` puts the working folder ahead of
    # PYTHONPATH on sys.path, so from ROOT a baseline would silently run the current code.
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=pythonpath)
    cpu = tree_cpu_seconds(process)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        log.seek(0)
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{log.read()[-3000:]}")
    os.unlink(log.name)
    return {"wall_s": wall, "cpu_s": cpu}


def tree_cpu_seconds(process: subprocess.Popen, every: float = 0.5) -> float:
    """Wait for `process`; the CPU seconds of it and all its descendants, last seen every `every` s."""
    import psutil

    seen: dict[tuple[int, float], float] = {}
    root = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            members = []
        for member in members:
            try:
                times = member.cpu_times()
                seen[(member.pid, member.create_time())] = times.user + times.system
            except psutil.Error:
                continue
        time.sleep(every)
    return sum(seen.values())


def adls(*args: str) -> list[str]:
    return [sys.executable, "-m", "adls", *args]


def qat_accuracies(folder: Path) -> dict[int, float]:
    import pandas as pd

    table = pd.read_parquet(folder / "trials.parquet")
    return {int(w): round(float(a), 6) for w, a in zip(table["width"], table["qat_accuracy"], strict=True)}


# ---------------------------------------------------------------- the in-process side
def _run_point(job: tuple[dict[str, Any], int]) -> tuple[int, float]:
    from trainables.trial_context import local_context
    from trainables.trials.lab1_qat import lab1_qat_trial

    config, cpus = job
    with tempfile.TemporaryDirectory(prefix="adls-inprocess-") as work:
        ctx = local_context(Path(work), cpus=cpus, seed=int(config.get("seed", 0)))
        metrics = lab1_qat_trial(config, ctx)
    return int(config["width"]), round(float(metrics["qat_accuracy"]), 6)


def in_process(profile: str, storage: Path, out: Path) -> None:
    """lab1-qat's grid through the trial function, no Ray: as many processes as Ray runs trials."""
    from analysis import load_results
    from search.experiments.lab1_qat import qat_grid
    from search.experiments.registry import get_experiment
    from search.options import RunOptions
    from search.run.tuner import trial_settings

    options = RunOptions(profile_name=profile, storage=str(storage))
    (variant,) = get_experiment("lab1-qat").variants(options, {"base": load_results(storage / "base")})
    settings = trial_settings(variant, options)
    grid = qat_grid(options)
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    jobs = [({**settings, **point}, options.cpus_per_trial) for point in points]
    processes = max(1, (os.cpu_count() or 1) // options.cpus_per_trial)
    # The trial code (torch, transformers) is imported once, here, and the pool forks after it:
    # the in-process side pays one import where each of Ray's workers pays its own.
    import trainables.trials.lab1_qat  # noqa: F401

    with multiprocessing.get_context("fork").Pool(min(processes, len(jobs))) as pool:
        results = dict(pool.map(_run_point, jobs, chunksize=1))
    out.write_text(json.dumps(results))


# ---------------------------------------------------------------- the driver
def summary(samples: list[dict[str, float]]) -> dict[str, float]:
    return {
        f"{stat}_{key}": fn([s[key] for s in samples])
        for key in ("wall_s", "cpu_s")
        for stat, fn in (("min", min), ("median", statistics.median))
    }


def quick_pairs(profile: str, repeats: int) -> dict[str, Any]:
    storage = WORK / f"{profile}-store"
    if not (storage / "base" / "run.json").exists():
        print(f"preparing {profile} base (not timed) ...", flush=True)
        timed(adls("run", "base", "--profile", profile, "--storage", str(storage)))
    samples: dict[str, list[dict[str, float]]] = {"ray": [], "inprocess": []}
    accuracies: dict[str, dict] = {}
    for repeat in range(repeats):
        order = ["ray", "inprocess"] if repeat % 2 == 0 else ["inprocess", "ray"]
        for side in order:
            if side == "ray":
                for old in storage.glob("lab1-qat*"):
                    shutil.rmtree(old)
                sample = timed(adls("run", "lab1-qat", "--profile", profile, "--storage", str(storage)))
                accuracies["ray"] = qat_accuracies(storage / "lab1-qat")
            else:
                result = WORK / "inprocess.json"
                sample = timed(
                    [sys.executable, __file__, "--inprocess", "--profile", profile, "--storage", str(storage)]
                )
                accuracies["inprocess"] = {int(k): v for k, v in json.loads(result.read_text()).items()}
            samples[side].append(sample)
            print(
                f"  {profile} repeat {repeat} {side:9s} {sample['wall_s']:7.1f} s wall {sample['cpu_s']:7.1f} s cpu"
            )
    same = accuracies["ray"] == accuracies["inprocess"]
    stats = {side: summary(values) for side, values in samples.items()}
    overhead = {
        f"{stat}_{key}": stats["ray"][f"{stat}_{key}"] / stats["inprocess"][f"{stat}_{key}"] - 1
        for stat in ("min", "median")
        for key in ("wall_s", "cpu_s")
    }
    return {
        "samples": samples,
        "stats": stats,
        "overhead": overhead,
        "same_accuracies": same,
        "accuracies": accuracies,
    }


def smoke_runs(repeats: int, baseline: Path | None) -> dict[str, Any]:
    sides = {"current": ROOT} | ({"baseline": baseline} if baseline else {})
    samples: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for repeat in range(repeats):
        order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
        for side in order:
            storage = WORK / f"smoke-{side}"
            shutil.rmtree(storage, ignore_errors=True)
            sample = timed(
                adls("run", "lab1-qat", "--profile", "smoke", "--storage", str(storage)), sides[side]
            )
            samples[side].append(sample)
            print(
                f"  smoke repeat {repeat} {side:9s} {sample['wall_s']:7.1f} s wall {sample['cpu_s']:7.1f} s cpu"
            )
    return {"samples": samples, "stats": {side: summary(values) for side, values in samples.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--smoke-repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="older code (PYTHONPATH) to time the smoke run against")
    parser.add_argument("--skip-quick", action="store_true")
    parser.add_argument("--skip-smoke", action="store_true")
    parser.add_argument("--out", default="ray_overhead.json", help="file name under bench/out/")
    parser.add_argument("--inprocess", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--storage", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inprocess:
        in_process(args.profile, args.storage, WORK / "inprocess.json")
        return
    WORK.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f"cpus={os.cpu_count()} load average at start {load[0]:.1f} (the machine is shared)", flush=True)
    record: dict[str, Any] = {"cpus": os.cpu_count(), "load_at_start": load}
    if not args.skip_quick:
        quick = quick_pairs(args.profile, args.repeats)
        record["quick"] = {"profile": args.profile, **quick}
    if not args.skip_smoke:
        record["smoke"] = smoke_runs(args.smoke_repeats, args.baseline)
    record["load_at_end"] = os.getloadavg()
    (OUT / args.out).write_text(json.dumps(record, indent=1))
    print(f"load average at end {record['load_at_end'][0]:.1f}")
    if "quick" in record:
        quick, stats = record["quick"], record["quick"]["stats"]
        print(f"\n{args.profile} lab1-qat           min wall  median wall   min cpu  median cpu")
        for side in ("ray", "inprocess"):
            s = stats[side]
            print(
                f"{side:22s} {s['min_wall_s']:9.1f} {s['median_wall_s']:12.1f} {s['min_cpu_s']:9.1f} {s['median_cpu_s']:11.1f}"
            )
        o = quick["overhead"]
        met = o["min_wall_s"] <= OVERHEAD_TARGET
        print(
            f"Ray overhead: wall {o['min_wall_s']:+.1%} (min) / {o['median_wall_s']:+.1%} (median), "
            f"cpu {o['min_cpu_s']:+.1%} / {o['median_cpu_s']:+.1%} (target <= {OVERHEAD_TARGET:.0%}: "
            f"{'ok' if met else 'MISS'}); same qat_accuracy per width on both sides: {quick['same_accuracies']}"
        )
    if "smoke" in record:
        print("\nsmoke `adls run lab1-qat` (fresh folder)  min wall  median wall  min cpu  median cpu")
        for side, s in record["smoke"]["stats"].items():
            print(
                f"{side:40s} {s['min_wall_s']:9.1f} {s['median_wall_s']:12.1f} {s['min_cpu_s']:8.1f} {s['median_cpu_s']:11.1f}"
            )
        best = record["smoke"]["stats"]["current"]["min_wall_s"]
        print(
            f"smoke end to end {best:.1f} s (target <= {SMOKE_TARGET_S:g} s: {'ok' if best <= SMOKE_TARGET_S else 'MISS'})"
        )


if __name__ == "__main__":
    main()
