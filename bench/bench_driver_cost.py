"""The driver's CPU per trial, by phase, over a 1,000-trial search on one node advertising 32 GPUs.

Starts a Ray cluster of `ray start` processes on loopback addresses (tests/loopback_cluster.py, as
bench_scale.py does): a head without CPUs, where the driver runs, and one worker node advertising
32 GPUs (and 32 CPUs; no device is needed). The driver, a process of its own, runs `lab2-nas`
with `--trial surrogate` (a seeded score of the architecture, a sleep and one small checkpoint,
trainables/trials/surrogate.py), one GPU per trial, 32 at once, TPE unless --sampler says
otherwise: the production path of `adls run` (Tuner, our study search and its database, progress
lines, Tune's result files and checkpoints, the results table, figures).

What measures what, all in the driver process:

- Our phases and Tune's named ones: the functions below are wrapped with `time.thread_time()`
  accumulators on the driver's main thread, where Tune's loop runs (Tuner.fit steps its
  controller there). Time is exclusive: a phase called inside another (the study writes inside
  the snapshot) counts once, in the inner one.
    ask           StudySearch.suggest (the Optuna sampler's ask, and our tune_trial_id attribute)
    tell          StudySearch.on_trial_complete / on_trial_result (the study's tell)
    study writes  StudySearch.write_finished_trials (one transaction per snapshot)
    progress      TrialLedger's callbacks (launch order, progress lines)
    result files  Tune's CSV and JSON logger callbacks (progress.csv, result.json per trial)
    results       TuneController._on_training_result: Tune's handling of a reported result
                  (scheduler, searcher and callback dispatch) less the phases above inside it
    trial ckpt    TuneController._on_saving_result: registering a trial's checkpoint
    searcher save StudySearch.save at each snapshot: the searcher's state pickled (less the
                  study writes it starts with)
    snapshot      TuneController.checkpoint: Tune's experiment snapshot (every trial's state as
                  JSON, callbacks' state, the sync), less the searcher's save
- Tune's loop: the main thread's CPU (`time.thread_time()` read at every finished trial) less
  the phases above; what it is made of comes from a sampler thread that reads the main thread's
  stack every few ms (sys._current_frames, no py-spy): each sample outside a wrapped phase is
  counted under the TuneController method it is in (the method that `step` called), and a
  method's share of the loop's busy samples splits the loop's CPU (samples blocked in `ray.wait`
  are idle, not CPU).
- Ray's threads: the process's CPU (`time.process_time()`, every thread) less the main thread's
  and the sampler's own (its `thread_time`): Ray's core-worker threads (gRPC, object and task
  bookkeeping) and Tune's sync threads.
- At the end, once per search: result rows, the table, dropping checkpoints, figures.

Windows: the per-trial cost around trial 100, 500 and 1,000 is the difference of those counters
over 100 finished trials ([50, 150), [450, 550), and for the last point the 100 trials before the
final 32, which finish with no new trial to ask for). `--trials N` scales the points and the
window to N/10. Prints a table, writes bench/out/driver_cost.json.

    .venv/bin/python bench/bench_driver_cost.py                     # 1,000 trials, TPE, 2 s trials
    .venv/bin/python bench/bench_driver_cost.py --trials 100        # a quick check of the bench itself
    .venv/bin/python bench/bench_driver_cost.py --sampler random --trial-seconds 1
"""

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))  # run as a script: the project's packages and tests/ helpers

OUT = PROJECT / "bench" / "out"
NODE_OPTIONS = ("--object-store-memory=200000000",)  # surrogate trials move no data
POINTS = (100, 500, 1000)  # at 1,000 trials; scaled with --trials
PHASES = (
    "ask",
    "tell",
    "study writes",
    "progress",
    "result files",
    "results",
    "trial ckpt",
    "searcher save",
    "snapshot",
)
END_PHASES = ("result rows", "table", "drop checkpoints", "figures")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--gpus", type=int, default=32, help="GPUs the one worker node advertises")
    parser.add_argument("--trial-seconds", type=float, default=2.0, help="how long a surrogate trial sleeps")
    parser.add_argument("--sampler", default="tpe", help="the lab2-nas variant: tpe, grid or random")
    parser.add_argument("--sample-ms", type=float, default=5.0, help="stack sampling interval")
    parser.add_argument("--out", default=str(OUT / "driver_cost.json"))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # the driver process
    args = parser.parse_args()
    if args.child:
        driver(json.loads(args.child))
        return
    report = measure(args)
    report.update(summarise(report))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print_report(report)
    print(f"wrote {args.out}")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Start the cluster, run the driver process, return its measurements with the machine's load."""
    from tests.loopback_cluster import LocalCluster

    root = Path(tempfile.mkdtemp(prefix="adls-driver-cost-"))
    cluster = LocalCluster(root / "cluster")
    load_before = os.getloadavg()
    try:
        started = time.monotonic()
        cluster.start_head(NODE_OPTIONS)
        cluster.add_worker("127.0.0.10", cpus=args.gpus, gpus=args.gpus, extra=NODE_OPTIONS)
        cluster.wait_for_nodes(2, timeout=300)
        print(f"1 node x {args.gpus} GPUs up in {time.monotonic() - started:.0f} s", flush=True)
        spec = {
            "trials": args.trials,
            "gpus": args.gpus,
            "trial_seconds": args.trial_seconds,
            "sampler": args.sampler,
            "sample_ms": args.sample_ms,
            "storage": str(root / "results"),
            "result_file": str(root / "driver.json"),
        }
        env = {**cluster.driver_env(root / "cache-driver"), "PYTHONPATH": str(PROJECT)}
        command = [sys.executable, __file__, "--child", json.dumps(spec)]
        done = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=7200)
        if done.returncode != 0:
            raise RuntimeError(
                f"driver failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
            )
        result = json.loads(Path(spec["result_file"]).read_text())
    finally:
        cluster.shutdown()
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "note": "2 cores shared with other engineers' work; the node's 32 trial workers share them too",
        },
        **{k: spec[k] for k in ("trials", "gpus", "trial_seconds", "sampler", "sample_ms")},
        **result,
    }


class PhaseClock:
    """Exclusive main-thread CPU seconds per phase; `current` is the innermost phase running now."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter = Counter()
        self._stack: list[list[Any]] = []  # [phase, CPU of the phases nested in it]
        self._main = threading.get_ident()
        self.snapshots: list[tuple[int, float]] = []  # (trials finished, CPU ms) per snapshot taken
        self.finished = 0
        self.steps = 0  # turns of Tune's loop (TuneController.step)

    @property
    def current(self) -> str | None:
        return self._stack[-1][0] if self._stack else None

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        """Replace `owner.name` with a timed call (main thread only; other threads pass through)."""
        original = getattr(owner, name)  # AttributeError names what an upgrade removed
        clock = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != clock._main:
                return original(*args, **kwargs)
            start = time.thread_time()
            clock._stack.append([phase, 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                _, nested = clock._stack.pop()
                spent = time.thread_time() - start
                clock.seconds[phase] += spent - nested
                clock.calls[phase] += 1
                if clock._stack:
                    clock._stack[-1][1] += spent
                if phase == "snapshot" and spent > 0.002:  # a throttled call returns at once
                    clock.snapshots.append((clock.finished, spent * 1000))

        setattr(owner, name, timed)


class StackSampler:
    """Reads the main thread's stack every `interval` s; counts samples outside a wrapped phase.

    A sample is keyed by the TuneController method that `step` is in at that moment (or `other`
    outside `step`); one whose innermost frames are in `ray.wait`/`ray.get` is `idle`.
    """

    def __init__(self, clock: PhaseClock, interval: float) -> None:
        self.clock = clock
        self.interval = interval
        self.samples: Counter = Counter()
        self.own_cpu = 0.0
        self._main = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="stack-sampler")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            start = time.thread_time()
            if self.clock.current is None:
                frame = sys._current_frames().get(self._main)
                if frame is not None:
                    self.samples[(self.clock.finished, _where(frame))] += 1
            self.own_cpu += time.thread_time() - start

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _where(frame: Any) -> str:
    """`idle`, or `step.<TuneController method>` (or `other`) and the innermost function, by `|`."""
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    for inner in frames[:4]:
        code = inner.f_code
        if code.co_filename.endswith(os.path.join("_private", "worker.py")) and code.co_name in (
            "wait",
            "get",
        ):
            return "idle"
    innermost = f"{Path(frames[0].f_code.co_filename).name}:{frames[0].f_code.co_name}" if frames else "-"
    for index, outer in enumerate(frames):
        code = outer.f_code
        if code.co_name == "step" and code.co_filename.endswith("tune_controller.py"):
            below = frames[index - 1].f_code.co_name if index else "step"
            return f"step.{below}|{innermost}"
    return f"other|{innermost}"


def instrument(clock: PhaseClock) -> None:
    """Wrap the phases named in the module's docstring."""
    from ray.tune.execution.tune_controller import TuneController
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    import search.run.tuner as tuner
    import search.runner as runner
    from search.run.progress import TrialLedger
    from search.study.database import StudySearch

    clock.wrap(StudySearch, "suggest", "ask")
    clock.wrap(StudySearch, "on_trial_complete", "tell")
    clock.wrap(StudySearch, "on_trial_result", "tell")
    clock.wrap(StudySearch, "write_finished_trials", "study writes")
    clock.wrap(StudySearch, "save", "searcher save")
    for name in ("on_trial_start", "on_trial_result", "on_trial_complete", "on_trial_error"):
        clock.wrap(TrialLedger, name, "progress")
    for logger in (CSVLoggerCallback, JsonLoggerCallback):
        for name in ("log_trial_start", "log_trial_result", "log_trial_end"):
            if name in vars(logger):
                clock.wrap(logger, name, "result files")
    step = TuneController.step

    def counted_step(self: Any) -> None:  # counts the loop's turns (no timing: they nest every phase)
        clock.steps += 1
        step(self)

    TuneController.step = counted_step
    clock.wrap(TuneController, "_on_training_result", "results")
    clock.wrap(TuneController, "_on_saving_result", "trial ckpt")
    clock.wrap(TuneController, "checkpoint", "snapshot")
    clock.wrap(tuner, "result_rows", "result rows")
    clock.wrap(runner, "write_table", "table")
    clock.wrap(runner, "drop_checkpoints", "drop checkpoints")
    clock.wrap(runner, "delete_checkpoints", "drop checkpoints")
    clock.wrap(runner, "draw_figures", "figures")


def driver(spec: dict[str, Any]) -> None:
    """The driver process: instrument, run the search, write the counters per finished trial."""
    process_start = time.process_time()
    import search.runner as runner
    from search.options import RunOptions
    from search.run.progress import TrialLedger

    clock = PhaseClock()
    instrument(clock)
    sampler = StackSampler(clock, spec["sample_ms"] / 1000)
    marks: list[dict[str, Any]] = []  # the counters each time a trial finishes

    def mark() -> None:
        clock.finished += 1
        marks.append(
            {
                "finished": clock.finished,
                "wall": time.monotonic(),
                "process_cpu": time.process_time(),
                "main_cpu": time.thread_time(),
                "sampler_cpu": sampler.own_cpu,
                "steps": clock.steps,
                "phases": dict(clock.seconds),
            }
        )

    for name in ("on_trial_complete", "on_trial_error"):
        timed = getattr(TrialLedger, name)

        def counted(self: Any, *args: Any, _timed: Any = timed, **kwargs: Any) -> Any:
            result = _timed(self, *args, **kwargs)
            mark()
            return result

        setattr(TrialLedger, name, counted)
    options = RunOptions(
        profile_name="full",  # the tutorial NAS space (4,800 architectures)
        dataset="synthetic",  # surrogates open no data
        storage=spec["storage"],
        address=os.environ["RAY_ADDRESS"],
        gpus_per_trial=1.0,
        cpus_per_trial=1,
        max_concurrent=spec["gpus"],
        trial="surrogate",
        surrogate_seconds=spec["trial_seconds"],
        budget=spec["trials"],
        extra={"samplers": (spec["sampler"],)},
    )
    run_start = time.process_time()
    table = runner.run("lab2-nas", options)["lab2-nas"]
    sampler.stop()
    result = {
        "rows": len(table),
        "finished_ok": int((table["status"] == "TERMINATED").sum()),
        "process_cpu_total": time.process_time() - process_start,
        "process_cpu_run": time.process_time() - run_start,
        "end_phases_seconds": {p: clock.seconds.get(p, 0.0) for p in END_PHASES},
        "calls": dict(clock.calls),
        "snapshots": clock.snapshots,
        "marks": marks,
        "samples": [[finished, where, count] for (finished, where), count in sampler.samples.items()],
    }
    Path(spec["result_file"]).write_text(json.dumps(result))


def windows(trials: int, slots: int) -> list[tuple[int, int, int]]:
    """(point, first, last) finished-trial counts of each window (see the module's docstring)."""
    width = max(2, trials // 10)
    result = []
    for point in (max(1, p * trials // 1000) for p in POINTS):
        last = min(point + width // 2, trials - slots) if point < trials else trials - slots
        last = max(last, width)
        result.append((point, max(1, last - width), last))
    return result


def window_cost(report: dict[str, Any], first: int, last: int) -> dict[str, Any]:
    """Per-trial ms of each phase, Tune's loop (with its sampled split) and Ray's threads, in a window."""
    marks = {m["finished"]: m for m in report["marks"]}
    a = marks.get(first) or {
        "wall": marks[1]["wall"],
        "process_cpu": 0,
        "main_cpu": 0,
        "sampler_cpu": 0,
        "phases": {},
    }
    b = marks[last]
    count = last - first
    phases = {p: (b["phases"].get(p, 0) - a["phases"].get(p, 0)) / count * 1000 for p in PHASES}
    main = (b["main_cpu"] - a["main_cpu"]) / count * 1000
    process = (b["process_cpu"] - a["process_cpu"]) / count * 1000
    sampler = (b["sampler_cpu"] - a["sampler_cpu"]) / count * 1000
    loop = main - sum(phases.values())
    busy, inner = Counter(), Counter()
    for finished, where, n in report["samples"]:
        if first <= finished < last and where != "idle":
            method, _, innermost = where.partition("|")
            busy[method] += n
            inner[innermost] += n
    total_busy = sum(busy.values()) or 1
    loop_split = {where: loop * n / total_busy for where, n in busy.most_common()}
    loop_inner = {where: loop * n / total_busy for where, n in inner.most_common(10)}
    snapshots = [ms for finished, ms in report["snapshots"] if first <= finished < last]
    return {
        "first": first,
        "last": last,
        "phases_ms": phases,
        "tune_loop_ms": loop,
        "tune_loop_split_ms": loop_split,
        "tune_loop_innermost_ms": loop_inner,
        "ray_threads_ms": process - main - sampler,
        "main_thread_ms": main,
        "driver_ms": process - sampler,
        "trials_per_minute": count / max(b["wall"] - a["wall"], 1e-9) * 60,
        "loop_steps_per_trial": (b.get("steps", 0) - a.get("steps", 0)) / count,
        "wall_s_per_trial": (b["wall"] - a["wall"]) / count,
        "snapshots": len(snapshots),
        "snapshot_ms_mean": sum(snapshots) / len(snapshots) if snapshots else 0.0,
    }


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """The windows' costs and the goals' verdicts, added to the report."""
    points = {
        str(point): window_cost(report, first, last)
        for point, first, last in windows(report["trials"], report["gpus"])
    }
    costs = [points[k]["driver_ms"] for k in points]
    return {
        "windows": points,
        "goal_ms": 60.0,
        "max_ms": max(costs),
        "growth_last_over_first": costs[-1] / costs[0],
        "end_once_seconds": sum(report["end_phases_seconds"].values()),
    }


def print_report(report: dict[str, Any]) -> None:
    points = report["windows"]
    print(
        f"\ndriver CPU per trial (ms), {report['trials']} trials of {report['trial_seconds']} s, "
        f"{report['gpus']} GPUs, sampler {report['sampler']}; load average before "
        f"{report['machine']['load_average_before'][0]:.1f}, after {report['machine']['load_average_after'][0]:.1f}"
    )
    header = f"{'phase':<30}" + "".join(
        f"{'@' + k + ' [' + str(v['first']) + ',' + str(v['last']) + ')':>16}" for k, v in points.items()
    )
    print(header)

    def line(label: str, values: list[float]) -> None:
        print(f"{label:<30}" + "".join(f"{v:>16.2f}" for v in values))

    for phase in PHASES:
        line(phase, [v["phases_ms"][phase] for v in points.values()])
    line("Tune's loop (rest of main)", [v["tune_loop_ms"] for v in points.values()])
    splits = Counter()
    for v in points.values():
        splits.update(v["tune_loop_split_ms"])
    for where, _ in splits.most_common(6):
        line(f"  {where[:27]}", [v["tune_loop_split_ms"].get(where, 0.0) for v in points.values()])
    inner = list(points.values())[-1].get("tune_loop_innermost_ms", {})
    if inner:
        print("  innermost, last window: " + ", ".join(f"{k} {v:.2f}" for k, v in list(inner.items())[:5]))
    line("main thread", [v["main_thread_ms"] for v in points.values()])
    line("Ray's threads", [v["ray_threads_ms"] for v in points.values()])
    line("driver process", [v["driver_ms"] for v in points.values()])
    line("trials per minute", [v["trials_per_minute"] for v in points.values()])
    line("Tune loop steps per trial", [v["loop_steps_per_trial"] for v in points.values()])
    line("snapshots in window", [v["snapshots"] for v in points.values()])
    line("ms per snapshot", [v["snapshot_ms_mean"] for v in points.values()])
    end = report["end_phases_seconds"]
    print(
        "once at the end (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in end.items())
        + f"; whole driver process {report['process_cpu_total']:.1f} s CPU "
        f"({report['process_cpu_total'] / report['trials'] * 1000:.1f} ms a trial, imports and start included)"
    )
    print(
        f"goal <= 60 ms a trial: max {report['max_ms']:.1f} ms; goal growth <= 1.5x: "
        f"{report['growth_last_over_first']:.2f}x"
    )


if __name__ == "__main__":
    main()
