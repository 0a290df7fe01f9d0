"""What one more search (variant or stage) costs: a Tuner's start, its first trial running, its teardown.

Each side is its own process: it starts the run's private Ray once, then runs `--tuners` searches
one after another through search.run.tuner.run_variant, each one trial of a probe trial function that
imports what every real trial imports (torch, transformers, the trial steps, the data code) and
reports at once with a small checkpoint. Per search: `to_first_trial_s` (run_variant called ->
the probe's body entered), `teardown_s` (the probe's report -> run_variant returned) and their
sum, the search's fixed cost. The first search pays Ray's and the workers' start; "one more
search" is the median of the others. Sides: `together` (the searches as one experiment's searches
sharing a Tuner, search/run/searches_together.py, one trial at a time: a later search's cost is the
gap from the previous search's report to its own trial's entry), `warm` (CPU trials in pooled workers,
trainables/ray_warm_worker.py) and `actor` (ADLS_WARM_WORKERS=0: each Tuner's trial actors import
torch again, the behaviour before), alternated per repeat; with --baseline PATH also that checkout
(its own code, ADLS_WARM_WORKERS unset). In the same run, a cold `import torch, transformers` in a
fresh interpreter. Goal (issue 25): one more search <= 1/4 of that cold import.

With --labs lab1,lab3 and --baseline: `adls run LAB --profile smoke` from an empty folder with this
checkout and with the baseline's, alternating, --lab-repeats pairs each after --lab-warmups untimed
runs of each side (page cache, bytecode; wall and process-tree CPU
seconds, bench_ray_overhead.timed). Goal: this checkout <= 60% of the baseline's wall-clock.
Writes bench/out/search_fixed_cost.json.

    PYTHONPATH=. .venv/bin/python bench/bench_search_fixed_cost.py [--repeats 2] [--tuners 4]
        [--baseline /path/to/old/checkout] [--labs lab1,lab3 --lab-repeats 2] [--skip-tuners]
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

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
GOAL_SHARE = 0.25


def probe_trial(config: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Enter, note the time, report one metric with a one-file checkpoint (imports done before entry)."""
    entered = time.time()
    folder = ctx.new_dir("checkpoint")
    (folder / "probe.txt").write_text("probe")
    metrics = {"score": 1.0, "entered": entered, "reported": time.time()}
    ctx.report(metrics, folder)
    return metrics


def probe_imports(config: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """The probe after the imports a real trial's module makes."""
    import transformers  # noqa: F401

    import trainables.trial_steps  # noqa: F401

    return probe_trial(config, ctx)


def run_side(tuners: int, storage: Path) -> list[dict[str, float]]:
    """In this process: start Ray once, run `tuners` one-trial searches; each one's timings."""

    from search.options import RunOptions
    from search.ray_session.connect import start_ray
    from search.run.tuner import run_variant

    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(storage))
    started = time.time()
    start_ray(options)
    ray_start = time.time() - started
    found = []
    for index in range(tuners):
        variant = _probe_variant(index)
        before = time.time()
        rows = run_variant("probe", variant, options, str(storage / f"probe{index}"))
        after = time.time()
        row = rows[0]
        found.append(
            {
                "to_first_trial_s": row["entered"] - before,
                "teardown_s": after - row["reported"],
                "fixed_s": (row["entered"] - before) + (after - row["reported"]),
                "search_s": after - before,
            }
        )
    found[0]["ray_start_s"] = ray_start
    return found


def run_side_together(tuners: int, storage: Path) -> list[dict[str, float]]:
    """In this process: start Ray once, run `tuners` one-trial searches as one experiment's searches
    sharing a Tuner (search/run/searches_together.py), one trial at a time; each search's timings.

    A later search's fixed cost is the gap from the previous search's report to its own trial's
    entry (the shared Tuner's teardown comes once, after the last search, and is counted there).
    """
    from search.options import RunOptions
    from search.ray_session.connect import start_ray
    from search.run.searches_together import run_together

    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(storage), max_concurrent=1)
    started = time.time()
    start_ray(options)
    ray_start = time.time() - started
    variants = [_probe_variant(index) for index in range(tuners)]
    before = time.time()
    searched = run_together("probe", variants, options, str(storage / "probe"))
    after = time.time()
    rows = sorted((rows[0] for rows in searched), key=lambda row: row["entered"])
    found = []
    for index, row in enumerate(rows):
        start = before if index == 0 else rows[index - 1]["reported"]
        teardown = after - row["reported"] if index == len(rows) - 1 else 0.0
        found.append(
            {
                "to_first_trial_s": row["entered"] - start,
                "teardown_s": teardown,
                "fixed_s": row["entered"] - start + teardown,
                "search_s": row["reported"] - start + teardown,
            }
        )
    found[0]["ray_start_s"] = ray_start
    return found


def _probe_variant(index: int) -> Any:
    from ray import tune

    from search.experiments.experiment import SearchVariant
    from search.study.samplers import TuneGridSampler
    from trainables.trial_ref import TrialRef

    return SearchVariant(
        name=f"probe{index}",
        space={"x": tune.choice([index])},
        sampler=TuneGridSampler({"x": [index]}, seed=0),
        num_samples=1,
        metric="score",
        mode="max",
        trial_fn=TrialRef("bench.bench_search_fixed_cost", "probe_imports"),
    )


def side(name: str, tuners: int, baseline: Path | None) -> dict[str, Any]:
    """Run one side in a fresh process; its per-search timings."""
    code = ROOT if name != "baseline" else baseline
    env = {**os.environ, "PYTHONPATH": str(code)}
    env.pop("ADLS_WARM_WORKERS", None)
    if name == "actor":
        env["ADLS_WARM_WORKERS"] = "0"
    with tempfile.TemporaryDirectory(prefix="bench-fixed-") as storage:
        # The probe module is this file, importable from the side's checkout as bench.<name>.
        script = ROOT / "bench" / "bench_search_fixed_cost.py"
        if code != ROOT:
            (Path(code) / "bench" / script.name).write_bytes(script.read_bytes())
        mode = "together" if name == "together" else "tuners"
        command = [
            sys.executable,
            str(Path(code) / "bench" / script.name),
            "--side",
            str(tuners),
            storage,
            mode,
        ]
        done = subprocess.run(command, env=env, cwd=code, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} side failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_import_seconds() -> float:
    """Wall seconds of `import torch, transformers` in a fresh interpreter."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, transformers"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tuners", type=int, default=4)
    parser.add_argument("--baseline", type=Path, help="an older checkout to time too")
    parser.add_argument("--out", default="search_fixed_cost.json", help="file name under bench/out/")
    parser.add_argument("--labs", default="", help="comma list of labs to time from an empty folder")
    parser.add_argument("--lab-repeats", type=int, default=2)
    parser.add_argument("--lab-warmups", type=int, default=1, help="untimed runs of each side first")
    parser.add_argument("--skip-tuners", action="store_true", help="only the labs")
    parser.add_argument("--side", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        tuners, storage = int(args.side[0]), Path(args.side[1])
        together = args.side[2:] == ["together"]
        print(json.dumps((run_side_together if together else run_side)(tuners, storage)), flush=True)
        return
    report: dict[str, Any] = {"machine_load_at_start": os.getloadavg(), "cpus": os.cpu_count()}
    if args.labs:
        if not args.baseline:
            parser.error("--labs compares against --baseline PATH")
        report["labs"] = lab_pairs(args.labs.split(","), args.lab_repeats, args.baseline, args.lab_warmups)
    if not args.skip_tuners:
        report.update(tuner_sides(args))
    report["machine_load_at_end"] = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / args.out).write_text(json.dumps(report, indent=2))
    print(f"-> {OUT / args.out}")


def lab_pairs(labs: list[str], repeats: int, baseline: Path, warmups: int = 1) -> dict[str, Any]:
    """`adls run LAB --profile smoke` from an empty folder, this checkout against `baseline`, alternating.

    Each side first runs `warmups` times untimed: the first run after other work was the slowest
    of its side in every earlier pair (page cache, bytecode), whichever side it was.
    """
    from bench.bench_ray_overhead import timed

    sides = {"current": ROOT, "baseline": baseline}
    found: dict[str, Any] = {}
    for lab in labs:
        samples: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
        for repeat in range(-warmups, repeats):
            for side in sides if repeat % 2 == 0 else list(sides)[::-1]:
                with tempfile.TemporaryDirectory(prefix="bench-lab-") as storage:
                    command = [
                        sys.executable,
                        "-m",
                        "adls",
                        "run",
                        lab,
                        "--profile",
                        "smoke",
                        "--storage",
                        storage,
                    ]
                    sample = timed(command, sides[side])
                if repeat >= 0:
                    samples[side].append(sample)
                print(
                    f"{lab} {side:8s} {sample['wall_s']:6.1f} s wall {sample['cpu_s']:6.1f} s CPU "
                    f"(load {os.getloadavg()[0]:.1f})" + (" warm-up, not counted" if repeat < 0 else ""),
                    flush=True,
                )
        wall = {side: statistics.median(s["wall_s"] for s in runs) for side, runs in samples.items()}
        found[lab] = {"samples": samples, "median_wall_s": wall, "ratio": wall["current"] / wall["baseline"]}
        print(f"{lab}: current / baseline wall = {found[lab]['ratio']:.2f} (goal <= 0.60)", flush=True)
    return found


def tuner_sides(args: argparse.Namespace) -> dict[str, Any]:
    """The per-search fixed cost of each side, and the cold import, alternating per repeat."""
    names = ["together", "warm", "actor"] + (["baseline"] if args.baseline else [])
    samples: dict[str, list[list[dict[str, float]]]] = {name: [] for name in names}
    imports: list[float] = []
    for repeat in range(args.repeats):
        imports.append(cold_import_seconds())
        for name in names if repeat % 2 == 0 else names[::-1]:
            samples[name].append(side(name, args.tuners, args.baseline))
            print(name, json.dumps(samples[name][-1]), flush=True)
    cold = statistics.median(imports)
    report: dict[str, Any] = {
        "cold_import_s": imports,
        "goal_s": GOAL_SHARE * cold,
        "sides": {},
    }
    for name, runs in samples.items():
        later = [search for run in runs for search in run[1:]]
        one_more = statistics.median(s["fixed_s"] for s in later)
        report["sides"][name] = {
            "runs": runs,
            "one_more_search_s": one_more,
            "to_first_trial_s": statistics.median(s["to_first_trial_s"] for s in later),
            "teardown_s": statistics.median(s["teardown_s"] for s in later),
            "first_search_s": statistics.median(run[0]["fixed_s"] for run in runs),
            "share_of_cold_import": one_more / cold,
        }
        print(
            f"{name:8s} one more search {one_more:5.2f} s (to first trial "
            f"{report['sides'][name]['to_first_trial_s']:.2f} s, teardown "
            f"{report['sides'][name]['teardown_s']:.2f} s) = {one_more / cold:.2f} of a cold import "
            f"({cold:.2f} s); goal <= {GOAL_SHARE}",
            flush=True,
        )
    return report


if __name__ == "__main__":
    main()
