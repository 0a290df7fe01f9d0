"""Scale rehearsal: a real `adls` search of surrogate trials on a simulated multi-node GPU cluster.

Starts a Ray cluster of `ray start` processes on loopback addresses (tests/loopback_cluster.py, as
the cluster tests do): a head without CPUs (it runs the driver) and N worker nodes, each
advertising G GPUs (and G CPUs) as resources; no device is needed, Ray schedules `gpu` requests
exactly as on a real cluster. The driver runs `lab2-nas` with `--trial surrogate` (a seeded score
of the architecture, then a sleep) on the tutorial space, one GPU per trial: everything else is
the production path (Tuner, the Optuna study in its database, resources, ledger, table, figures).

Per search it measures: dispatch rate against the ideal (slots / trial time) over the whole run
and in steady state, the searcher's ask (suggest) and tell (on_trial_complete) time per trial as
the study grows, driver CPU and peak memory, time to write the table and draw the figures, and
Tune's state on disk. Prints a table, writes bench/out/scale.json and bench/out/scale.png.

    .venv/bin/python bench/bench_scale.py                        # default size: 4 nodes x 2 GPUs, 200 trials
    .venv/bin/python bench/bench_scale.py --nodes 8 --gpus-per-node 4 --trials 1000
    .venv/bin/python bench/bench_scale.py --sweep --samplers tpe # 100/300/1000 trials on 8x4; 1/4/8 nodes at 100
    .venv/bin/python bench/bench_scale.py --postgres             # the studies in a throwaway PostgreSQL
    .venv/bin/python bench/bench_scale.py --nodes 1,4,8 --gpus-per-node 4 --trials 100 --samplers tpe --profile
    .venv/bin/python bench/bench_scale.py --concurrency slots,slots+8,slots+8,slots  # Tune's limit, paired
"""

import argparse
import cProfile
import itertools
import json
import math
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))  # run as a script: the project's packages and tests/ helpers

OUT = PROJECT / "bench" / "out"
# Small object stores: surrogate trials move no data, and 9 nodes share this machine's memory.
NODE_OPTIONS = ("--object-store-memory=100000000",)
SWEEP = [(8, 100), (8, 300), (8, 1000), (4, 100), (1, 100)]  # (nodes, trials), 4 GPUs per node


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="4", help="nodes, or a comma list for a node curve (1,4,8)")
    parser.add_argument("--gpus-per-node", type=int, default=2)
    parser.add_argument("--trials", type=int, default=200, help="trials per search")
    parser.add_argument(
        "--concurrency",
        default="slots",
        help="trials at once: a number, `slots` (all GPUs) or `slots+K`; a comma list runs each in turn",
    )
    parser.add_argument("--trial-seconds", type=float, default=2.0, help="how long a surrogate trial sleeps")
    parser.add_argument("--samplers", default="tpe,grid", help="comma list of lab2-nas samplers")
    parser.add_argument("--sweep", action="store_true", help=f"(nodes, trials) = {SWEEP}, 4 GPUs per node")
    parser.add_argument("--postgres", action="store_true", help="studies in a throwaway PostgreSQL server")
    parser.add_argument("--optuna-storage", default=None, help="studies in this database URL instead")
    parser.add_argument("--profile", action="store_true", help="cProfile the driver: top functions per run")
    parser.add_argument("--out", default=str(OUT / "scale.json"))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # the driver process
    args = parser.parse_args()
    if args.child:
        driver(json.loads(args.child))
        return
    plan = (
        [(nodes, 4, trials) for nodes, trials in SWEEP]
        if args.sweep
        else [(int(n), args.gpus_per_node, args.trials) for n in args.nodes.split(",")]
    )
    runs = rehearse(plan, args)
    report = {
        "machine": machine_facts(),
        "trial_seconds": args.trial_seconds,
        "storage": "postgresql" if args.postgres else ("url" if args.optuna_storage else "sqlite"),
        "runs": runs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print_table(runs)
    figure = draw(runs, Path(args.out).with_suffix(".png"))
    print(f"wrote {args.out} and {figure}")


def rehearse(plan: list[tuple[int, int, int]], args: argparse.Namespace) -> list[dict]:
    """One cluster per node count (reused for its trial counts); one driver process per search size."""
    from tests.loopback_cluster import LocalCluster
    from tests.loopback_postgres import LocalPostgres

    root = Path(tempfile.mkdtemp(prefix="adls-scale-"))
    postgres = LocalPostgres() if args.postgres else None
    url = postgres.start() if postgres else args.optuna_storage
    runs = []
    try:
        for nodes in dict.fromkeys(n for n, _, _ in plan):
            cluster = LocalCluster(root / f"cluster-{nodes}")
            try:
                started = time.monotonic()
                cluster.start_head(NODE_OPTIONS)
                gpus = next(g for n, g, _ in plan if n == nodes)
                for k in range(nodes):
                    cluster.add_worker(f"127.0.0.{10 + k}", cpus=gpus, gpus=gpus, extra=NODE_OPTIONS)
                cluster.wait_for_nodes(nodes + 1, timeout=300)
                print(f"{nodes} nodes x {gpus} GPUs up in {time.monotonic() - started:.0f} s", flush=True)
                pairs = itertools.product(plan, args.concurrency.split(","))
                for turn, ((n, _, trials), limit) in enumerate(pairs):
                    if n != nodes:
                        continue
                    tag = f"{nodes}x{gpus}-{trials}-{limit}-{turn}"  # a limit may come twice (ABBA)
                    spec = {
                        "nodes": nodes,
                        "gpus_per_node": gpus,
                        "trials": trials,
                        "concurrency": concurrency(limit, nodes * gpus),
                        "tag": tag,
                        "trial_seconds": args.trial_seconds,
                        "samplers": args.samplers.split(","),
                        "storage": str(root / f"results-{tag}"),
                        "optuna_storage": url,
                        "study_prefix": tag if url else "",
                        "profile": str(OUT / f"scale-driver-{tag}.prof") if args.profile else "",
                    }
                    runs += run_driver(cluster, spec, root)
            finally:
                cluster.shutdown()
    finally:
        if postgres:
            postgres.stop()
    return runs


def concurrency(limit: str, slots: int) -> int:
    """`slots` -> slots, `slots+K` -> slots + K, a number -> that number."""
    if limit.startswith("slots"):
        return slots + int(limit[len("slots") :] or 0)
    return int(limit)


def run_driver(cluster, spec: dict, root: Path) -> list[dict]:
    """Run the search in a driver process of its own (its CPU and peak memory are the driver's)."""
    result_file = root / f"driver-{spec['tag']}.json"
    env = {**cluster.driver_env(root / "cache-driver"), "PYTHONPATH": str(PROJECT)}
    command = [sys.executable, __file__, "--child", json.dumps({**spec, "result_file": str(result_file)})]
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        raise RuntimeError(
            f"driver failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        )
    runs = json.loads(result_file.read_text())
    print(f"  {spec['nodes']} nodes, {spec['trials']} trials: {time.monotonic() - started:.0f} s", flush=True)
    return runs


def driver(spec: dict) -> None:
    """The driver process: instrument the production path, run the search, measure, write JSON."""
    import optuna

    import search.run.tuner as tuner
    import search.runner as runner
    from search.options import RunOptions
    from search.study.database import StudySearch

    calls: dict[str, list[float]] = {"suggest": [], "complete": [], "db_write": []}
    phases: dict[str, list[float]] = {"fit": [], "write_table": [], "draw_figures": []}

    def timed(store: list[float], fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                store.append(time.perf_counter() - start)

        return wrapper

    StudySearch.suggest = timed(calls["suggest"], StudySearch.suggest)
    StudySearch.on_trial_complete = timed(calls["complete"], StudySearch.on_trial_complete)
    StudySearch.write_finished_trials = timed(calls["db_write"], StudySearch.write_finished_trials)
    tuner._fit_to_the_end = timed(phases["fit"], tuner._fit_to_the_end)
    runner.write_table = timed(phases["write_table"], runner.write_table)
    runner.draw_figures = timed(phases["draw_figures"], runner.draw_figures)
    memory = MemorySampler()
    options = RunOptions(
        profile_name="full",  # the tutorial NAS space (4,800 architectures)
        dataset="synthetic",  # surrogates open no data; nothing to download
        storage=spec["storage"],
        address=os.environ["RAY_ADDRESS"],
        gpus_per_trial=1.0,
        cpus_per_trial=1,
        max_concurrent=spec["concurrency"],
        trial="surrogate",
        surrogate_seconds=spec["trial_seconds"],
        budget=spec["trials"],
        optuna_storage=spec["optuna_storage"],
        optuna_study_prefix=spec["study_prefix"] or None,  # several sizes share one database
        extra={"samplers": tuple(spec["samplers"])},
    )
    profiler = cProfile.Profile() if spec["profile"] else None
    cpu_before = cpu_seconds()
    if profiler:
        profiler.enable()  # Tune's loop runs in this thread (Tuner.fit steps its controller here)
    table = runner.run("lab2-nas", options)["lab2-nas"]
    if profiler:
        profiler.disable()
    cpu = cpu_seconds() - cpu_before
    memory.stop()
    hot = write_profile(profiler, spec["profile"]) if profiler else []

    folder = Path(spec["storage"]) / "lab2-nas"
    url = spec["optuna_storage"] or f"sqlite:///{folder}/optuna.db"
    slots = spec["nodes"] * spec["gpus_per_node"]
    runs, offset = [], 0
    for index, sampler in enumerate(spec["samplers"]):
        trials = spec["trials"]
        rows = table[table["variant"] == sampler]
        study = optuna.load_study(study_name=rows["optuna_study"].iloc[0], storage=url)
        starts = sorted(t.datetime_start.timestamp() for t in study.get_trials(deepcopy=False))
        fit = phases["fit"][index]
        ideal = math.ceil(trials / min(slots, spec["concurrency"])) * spec["trial_seconds"]
        asks = calls["suggest"][offset : offset + trials]
        tells = calls["complete"][offset : offset + trials]
        offset += trials
        per_trial = [a + t for a, t in zip(asks, tells, strict=False)]
        runs.append(
            {
                **{k: spec[k] for k in ("nodes", "gpus_per_node", "trials", "concurrency", "trial_seconds")},
                "sampler": sampler,
                "slots": slots,
                "rows": len(rows),
                "finished": int((rows["status"] == "TERMINATED").sum()),
                "nodes_used": int(rows["node"].nunique()),
                "fit_seconds": fit,
                "ideal_seconds": ideal,
                "dispatch_efficiency": ideal / fit,
                "dispatch_per_minute": trials / fit * 60,
                "ideal_per_minute": min(slots, spec["concurrency"]) / spec["trial_seconds"] * 60,
                "steady_per_minute": steady_rate(starts),
                "ask_tell_ms_by_trial": bucketed(per_trial),
                "ask_ms_last": median_ms(asks[-max(1, trials // 20) :]),
                "tell_ms_last": median_ms(tells[-max(1, trials // 20) :]),
                "ask_tell_ms_last": median_ms(per_trial[-max(1, trials // 20) :]),
                "tune_state_bytes": folder_bytes(folder / "tune" / sampler),
                "experiment_state_bytes": sum(
                    p.stat().st_size for p in (folder / "tune" / sampler).glob("experiment_state*.json")
                ),
            }
        )
    shared = {
        # Writing finished trials into the study database, at Tune's snapshots (all searches).
        "study_db_write_seconds": sum(calls["db_write"]),
        "study_db_write_ms_per_trial": sum(calls["db_write"]) / len(table) * 1000,
        "driver_cpu_seconds": cpu,
        "driver_peak_rss_mb": memory.peak / 2**20,
        "driver_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "write_table_seconds": phases["write_table"][0],
        "draw_figures_seconds": phases["draw_figures"][0],
        "optuna_db_bytes": folder_bytes(folder / "optuna.db") if not spec["optuna_storage"] else None,
        "driver_profile_top": hot,
    }
    Path(spec["result_file"]).write_text(json.dumps([{**run, **shared} for run in runs]))


class MemorySampler:
    """The driver's resident memory every 0.2 s (ru_maxrss also counts the imports' peak)."""

    def __init__(self) -> None:
        import psutil

        self.peak = 0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def write_profile(profiler: cProfile.Profile, path: str, top: int = 30) -> list[list]:
    """Save the driver's profile (`python -m pstats PATH`) and return its top functions by own time.

    Rows: [function, calls, own seconds, cumulative seconds]; own time shows where the driver's
    CPU goes, cumulative time (wall, as cProfile counts it) where its loop waits.
    """
    profiler.dump_stats(path)
    stats = pstats.Stats(profiler)
    rows = [
        [f"{Path(file).name}:{line}:{name}", calls, round(own, 3), round(cumulative, 3)]
        for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items()
    ]
    return sorted(rows, key=lambda row: -row[2])[:top]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def steady_rate(starts: list[float]) -> float:
    """Trials started per minute between the 10th and 90th percentile start (no ramp-up or tail)."""
    if len(starts) < 10:
        return float("nan")
    low, high = starts[len(starts) // 10], starts[(len(starts) * 9) // 10]
    return (len(starts) * 8 // 10) / max(high - low, 1e-9) * 60


def bucketed(values: list[float], buckets: int = 10) -> list[list[float]]:
    """[(trial number at the bucket's end, median ms)] over `buckets` equal slices of the trials."""
    size = max(1, len(values) // buckets)
    return [
        [min(i + size, len(values)), median_ms(values[i : i + size])] for i in range(0, len(values), size)
    ]


def median_ms(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[len(ordered) // 2] * 1000


def folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def machine_facts() -> dict:
    return {
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "note": "2 cores shared with other agents' work; every Ray node, trial worker and the driver share them",
    }


def print_table(runs: list[dict]) -> None:
    header = (
        f"{'nodes':>5} {'slots':>5} {'conc':>4} {'trials':>6} {'sampler':>7} {'fit s':>7} {'ideal s':>7} {'eff':>5} "
        f"{'/min':>6} {'ideal/min':>9} {'steady':>6} {'ask+tell ms@end':>15} {'cpu s':>6} {'peak MB':>7} "
        f"{'table s':>7} {'figs s':>6} {'tune MB':>7} {'db ms/trial':>11}"
    )
    print(header)
    for r in runs:
        print(
            f"{r['nodes']:>5} {r['slots']:>5} {r['concurrency']:>4} {r['trials']:>6} {r['sampler']:>7} {r['fit_seconds']:>7.1f} "
            f"{r['ideal_seconds']:>7.1f} {r['dispatch_efficiency']:>5.2f} {r['dispatch_per_minute']:>6.0f} "
            f"{r['ideal_per_minute']:>9.0f} {r['steady_per_minute']:>6.0f} {r['ask_tell_ms_last']:>15.1f} "
            f"{r['driver_cpu_seconds']:>6.0f} {r['driver_peak_rss_mb']:>7.0f} {r['write_table_seconds']:>7.2f} "
            f"{r['draw_figures_seconds']:>6.2f} {r['tune_state_bytes'] / 2**20:>7.1f} "
            f"{r['study_db_write_ms_per_trial']:>11.1f}"
        )


def draw(runs: list[dict], path: Path) -> Path:
    """Dispatch efficiency, ask+tell time as the study grows, and the rate against nodes (a node
    curve) or the driver's memory against trials (a trial curve)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rate, searcher, memory) = plt.subplots(1, 3, figsize=(15, 4.2))
    for r in runs:
        label = f"{r['nodes']}x{r['gpus_per_node']} {r['sampler']} {r['trials']}"
        if r["concurrency"] != r["slots"]:
            label += f" c{r['concurrency']}"
        rate.bar(label, r["dispatch_efficiency"])
        points = r["ask_tell_ms_by_trial"]
        searcher.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    rate.axhline(0.8, color="k", linestyle="--", linewidth=1, label="target 0.8")
    rate.set_ylabel("dispatch rate / ideal (slots / trial time)")
    rate.tick_params(axis="x", rotation=60, labelsize=7)
    rate.legend()
    searcher.set_xlabel("trials in the study")
    searcher.set_ylabel("searcher ask + tell per trial (ms, median)")
    searcher.legend(fontsize=7)
    if len({r["nodes"] for r in runs}) > 1:  # a node curve: trials started per minute, and the ideal
        runs_by_nodes = sorted(runs, key=lambda r: r["nodes"])
        xs = [r["nodes"] for r in runs_by_nodes]
        memory.plot(xs, [r["steady_per_minute"] for r in runs_by_nodes], marker="o", label="steady rate")
        memory.plot(
            xs, [r["ideal_per_minute"] for r in runs_by_nodes], "k--", label="ideal (slots / trial time)"
        )
        memory.set_xlabel("nodes")
        memory.set_ylabel("trials started per minute")
        memory.set_yscale("log")
        memory.legend(fontsize=7)
    else:  # a trial curve: the driver's peak memory
        by_trials: dict[int, float] = {}
        for r in runs:
            by_trials[r["trials"]] = max(by_trials.get(r["trials"], 0), r["driver_peak_rss_mb"])
        xs = sorted(by_trials)
        memory.plot(xs, [by_trials[x] for x in xs], marker="o")
        memory.set_xlabel("trials per search")
        memory.set_ylabel("driver peak RSS (MB)")
    figure.suptitle("Scale rehearsal: surrogate lab2-nas on a loopback Ray cluster (2 shared cores)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


if __name__ == "__main__":
    main()
