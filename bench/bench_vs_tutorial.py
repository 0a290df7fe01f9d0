"""The same lab task done the tutorials' way and the adls way: time to the answer, and the answer.

Cases (same machine, data, search space, trial budget and seed for every way):
- `nas`: Lab 2's architecture search with TPE, `--budget` trials.
- `qat`: Lab 1's fixed-point width sweep (the profile's widths x fractional shares), PTQ then QAT.

Ways, each its own process, in alternating order per seed:
- `tutorial`: written as MASE's Tutorial 5 (NAS) and Tutorial 3/Lab 1 (QAT sweep) do it, one trial
  at a time in one process, torch on every core: `optuna.create_study(sampler=...)` and
  `study.optimize(objective, n_trials=N)`, the objective building the model from the trial's
  choices, training it with `transformers.Trainer` for the profile's epochs and
  `trainer.evaluate()`; the QAT sweep loops over the grid, PTQ `evaluate()`, QAT `train()`,
  `evaluate()`. No checkpoints are saved (the tutorials keep the model in memory).
- `adls`: search.runner.run, what `adls run lab2-nas --budget N` / `adls run lab1-qat` call, with
  the defaults (trials fill the CPUs, one thread each); for `nas` narrowed to its TPE search (the
  CLI's lab2-nas runs grid, TPE and random; `extra["samplers"]`, as bench_scale.py does).
- `adls-sha`: the same with `--scheduler sha` (`nas` only: every QAT grid point is the answer).

Shared by every way, so only the driving differs: the tokenized data cache (trainables.data via
trial_steps.open_data), the model builder (trials.lab2_nas.build_nas_model; for QAT the stored base,
models.checkpoint.load_model, and compress.quantize_model), the sampler (search.study.samplers.make_sampler
'tpe' with the seed) and the space (search.experiments.spaces.nas grid, search.experiments.lab1_qat.qat_grid).
The tutorial way's training and evaluation are Hugging Face's Trainer (AdamW, linear decay, its
own batching with a padding collator) at the profile's batch size and learning rate; adls's are
trainables.train_loop. The QAT base is trained once per seed by adls (not timed) and shared.

Reported per case and way (median over seeds, with min-max): wall seconds to the end, wall
seconds until the final best accuracy was first reached, CPU seconds of the whole process tree,
best accuracy (with the test split's majority-class share beside it). Writes
bench/out/vs_tutorial.json, bench/out/vs_tutorial.png (best accuracy so far against wall-clock,
median line and min-max band over seeds per way) and prints the README table.

    PYTHONPATH=. .venv/bin/python bench/bench_vs_tutorial.py [--profile quick] [--seeds 0,1,2]
        [--budget 12] [--cases nas,qat] [--ways tutorial,adls,adls-sha]
    # a small run that validates the bench: --profile smoke --seeds 0 --budget 2
"""

import argparse
import itertools
import json
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
WAYS = ("tutorial", "adls", "adls-sha")
CASES = ("nas", "qat")
METRIC = {"nas": "accuracy", "qat": "qat_accuracy"}


# ---------------------------------------------------------------- the tutorial way (child process)
def trainer_for(model: Any, data: Any, options: Any, seed: int, work: str, epochs: float) -> Any:
    """A transformers.Trainer over the shared tokenized splits, as the tutorials' get_trainer builds one."""
    import numpy as np
    import torch
    from transformers import Trainer, TrainingArguments

    class Rows(torch.utils.data.Dataset):
        def __init__(self, split: Any) -> None:
            self.split = split

        def __len__(self) -> int:
            return len(self.split)

        def __getitem__(self, index: int) -> dict[str, Any]:
            start, end = self.split.offsets[index], self.split.offsets[index + 1]
            return {"input_ids": self.split.token_ids[start:end], "labels": int(self.split.labels[index])}

    pad = data.prepared.pad_token_id

    def collate(rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        longest = max(len(row["input_ids"]) for row in rows)
        ids = torch.full((len(rows), longest), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row["input_ids"])] = torch.as_tensor(np.asarray(row["input_ids"], dtype=np.int64))
            mask[i, : len(row["input_ids"])] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([r["labels"] for r in rows])}

    def accuracy(prediction: Any) -> dict[str, float]:
        return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}

    profile = options.profile
    arguments = TrainingArguments(
        output_dir=work,
        num_train_epochs=epochs,
        per_device_train_batch_size=profile.batch_size,
        per_device_eval_batch_size=128,
        learning_rate=profile.lr,
        seed=seed,
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
        dataloader_num_workers=0,
    )
    return Trainer(
        model=model,
        args=arguments,
        train_dataset=Rows(data.train),
        eval_dataset=Rows(data.test),
        data_collator=collate,
        compute_metrics=accuracy,
    )


def tutorial_nas(options: Any, seed: int, budget: int, events: list[dict[str, float]]) -> None:
    """Tutorial 5: an in-process Optuna study, a Trainer per trial."""
    import optuna

    from search.experiments.spaces.nas import space_for
    from search.study.samplers import make_sampler
    from trainables.trial_steps import open_data
    from trainables.trials.lab2_nas import build_nas_model

    config = {"data": options.data_settings(), "seed": seed}
    data = open_data(config)
    grid = space_for(options).grid()
    sampler, _ = make_sampler("tpe", seed, grid)

    def objective(trial: optuna.Trial) -> float:
        entered = time.time()
        params = {name: trial.suggest_categorical(name, choices) for name, choices in grid.items()}
        model, _ = build_nas_model({**config, **params}, data)
        with tempfile.TemporaryDirectory(prefix="tutorial-") as work:
            trainer = trainer_for(model, data, options, seed, work, options.profile.epochs)
            built = time.time()
            trainer.train()
            trained = time.time()
            score = trainer.evaluate()["eval_accuracy"]
        events.append(
            {"time": time.time(), "accuracy": score, "entered": entered, "built": built, "trained": trained}
        )
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=budget)


def tutorial_qat(options: Any, seed: int, base_checkpoint: str, events: list[dict[str, float]]) -> None:
    """Lab 1 task 1 as the tutorial does it: loop over widths; PTQ evaluate, QAT train, evaluate."""
    from search.experiments.lab1_qat import qat_grid
    from trainables.compress import fixed_point_config, quantize_model
    from trainables.models.checkpoint import load_model
    from trainables.trial_steps import open_data

    data = open_data({"data": options.data_settings(), "seed": seed})
    grid = qat_grid(options)
    for width, ratio in itertools.product(grid["width"], grid["frac_ratio"]):
        entered = time.time()
        model, _ = load_model(base_checkpoint)
        quantize_model(model, fixed_point_config(width, round(width * ratio)))
        with tempfile.TemporaryDirectory(prefix="tutorial-") as work:
            trainer = trainer_for(model, data, options, seed, work, options.profile.epochs)
            trainer.evaluate()  # PTQ accuracy, as the tutorial prints it
            built = time.time()
            trainer.train()
            trained = time.time()
            score = trainer.evaluate()["eval_accuracy"]
        events.append(
            {"time": time.time(), "accuracy": score, "entered": entered, "built": built, "trained": trained}
        )


def run_tutorial(case: str, profile: str, seed: int, budget: int, storage: Path, out: Path) -> None:
    import torch

    from search.options import RunOptions

    marks = {"imported": time.time()}
    torch.set_num_threads(os.cpu_count() or 1)  # the notebook's torch uses every core
    options = RunOptions(profile_name=profile, seed=seed, storage=str(storage))
    events: list[dict[str, float]] = []
    if case == "nas":
        tutorial_nas(options, seed, budget, events)
    else:
        tutorial_qat(options, seed, base_checkpoint(storage), events)
    marks["ended"] = time.time()
    out.write_text(json.dumps(events))
    write_phases("tutorial", case, seed, tutorial_phases(marks, events))


def process_started() -> float:
    import psutil

    return psutil.Process().create_time()


def tutorial_phases(marks: dict[str, float], events: list[dict[str, float]]) -> dict[str, float]:
    """Where the tutorial way's wall time went: imports, per-trial setup, training, evaluation, the rest."""
    start = process_started()
    setup = sum(e["built"] - e["entered"] for e in events)
    train = sum(e["trained"] - e["built"] for e in events)
    evaluate = sum(e["time"] - e["trained"] for e in events)
    first = min(e["entered"] for e in events)
    return {
        "wall_s": marks["ended"] - start,
        "python_and_imports_s": marks["imported"] - start,
        "before_first_trial_s": first - marks["imported"],
        "trial_setup_s": setup,
        "train_s": train,
        "evaluate_s": evaluate,
        "between_trials_s": marks["ended"] - first - setup - train - evaluate,
    }


def adls_phases(marks: dict[str, float], table: Any) -> dict[str, float]:
    """Where the adls way's wall time went, from the driver's marks and the trials' own clocks.

    Per trial (Tune's result.json): Tune's clock starts when the actor set the trainable up
    (last report's timestamp - time_total_s); the trial function's own `trial_seconds` start
    when its body was entered; the difference is the trial's start overhead (actor, task to
    the warm worker, imports on a fresh worker).
    """
    start = process_started()
    trials = []
    for row in table.to_dict("records"):
        if not isinstance(row.get("trial_path"), str) or not row["trial_path"]:
            continue
        records = [
            json.loads(line) for line in (Path(row["trial_path"]) / "result.json").read_text().splitlines()
        ]
        if not records:
            continue
        last = records[-1]
        end = float(last["timestamp"])
        total = float(last.get("time_total_s") or 0.0)
        own = row.get("trial_seconds")
        own = float(own) if own is not None and own == own else total
        train = row.get("train_seconds")
        train = float(train) if train is not None and train == train else 0.0
        trials.append(
            {"end": end, "tune_start": end - total, "own_s": own, "tune_s": total, "train_s": train}
        )
    first = min(t["tune_start"] for t in trials)
    last_end = max(t["end"] for t in trials)
    return {
        "wall_s": marks["ended"] - start,
        "python_and_imports_s": marks["imported"] - start,
        "ray_start_s": marks["ray_started"] - marks["imported"],
        "to_first_trial_s": first - marks["ray_started"],
        "trials_span_s": last_end - first,
        "after_last_trial_s": marks["run_returned"] - last_end,
        "ray_stop_s": marks["ended"] - marks["run_returned"],
        "trial_tune_s_sum": sum(t["tune_s"] for t in trials),
        "trial_own_s_sum": sum(t["own_s"] for t in trials),
        "trial_train_s_sum": sum(t["train_s"] for t in trials),
        "trial_start_overhead_s_sum": sum(max(0.0, t["tune_s"] - t["own_s"]) for t in trials),
        "trials": len(trials),
    }


def write_phases(way: str, case: str, seed: int, phases: dict[str, float]) -> None:
    folder = OUT / "vs_tutorial_phases"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{case}-{seed}-{way}.json").write_text(json.dumps(phases, indent=2))


# ---------------------------------------------------------------- the adls way (child process)
def run_adls(
    case: str, profile: str, seed: int, budget: int, storage: Path, scheduler: str, out: Path
) -> None:
    from search.options import RunOptions
    from search.ray_session.connect import start_ray
    from search.ray_session.start import stop_ray
    from search.runner import run

    marks = {"imported": time.time()}
    name = "lab2-nas" if case == "nas" else "lab1-qat"
    fields: dict[str, Any] = {"profile_name": profile, "seed": seed, "storage": str(storage)}
    if case == "nas":
        fields.update(budget=budget, scheduler=scheduler, extra={"samplers": ("tpe",)})
    options = RunOptions(**fields)
    start_ray(options)  # what run() does first; timed on its own here
    marks["ray_started"] = time.time()
    tables = run(name, options)
    marks["run_returned"] = time.time()
    stop_ray()
    marks["ended"] = time.time()
    out.write_text(json.dumps(finish_events(tables[name], METRIC[case])))
    way = "adls-sha" if scheduler == "sha" else "adls"
    try:
        write_phases(way, case, seed, adls_phases(marks, tables[name]))
    except Exception as error:  # noqa: BLE001 - the profile is extra; the run's result stands
        print(f"phases not written: {error!r}", flush=True)


def finish_events(table: Any, metric: str) -> list[dict[str, float]]:
    """When each finished trial reported its objective (Tune's result.json timestamps) and its value."""
    events = []
    for row in table.to_dict("records"):
        value = row.get(metric)
        if value is None or value != value or not row.get("trial_path"):
            continue
        stamps = [
            record["timestamp"]
            for record in map(json.loads, (Path(row["trial_path"]) / "result.json").read_text().splitlines())
            if metric in record
        ]
        events.append({"time": float(max(stamps)), "accuracy": float(value)})
    return events


def base_checkpoint(storage: Path) -> str:
    from analysis import load_results
    from search.experiments.starts.stage_inputs import best_checkpoint

    return str(best_checkpoint(load_results(storage / "base"), "accuracy")["checkpoint"])


# ---------------------------------------------------------------- the driver
def timed_way(way: str, case: str, args: argparse.Namespace, seed: int, storage: Path) -> dict[str, Any]:
    """Run one way in its own process; wall, CPU, and its trials' (seconds since start, accuracy)."""
    from bench.bench_ray_overhead import tree_cpu_seconds

    events_file = storage / f"events-{way}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--child", way, case, str(seed), str(storage)]
    command += ["--profile", args.profile, "--budget", str(args.budget)]
    log = open(storage / f"{way}.log", "w")  # noqa: SIM115 - closed below
    started_at = time.time()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    cpu = tree_cpu_seconds(process)
    wall = time.perf_counter() - started
    log.close()
    if process.returncode != 0:
        raise SystemExit(f"{way} {case} seed {seed} failed:\n{(storage / f'{way}.log').read_text()[-3000:]}")
    events = sorted(
        (
            {"t": e["time"] - started_at, "accuracy": e["accuracy"]}
            for e in json.loads(events_file.read_text())
        ),
        key=lambda e: e["t"],
    )
    best = max(e["accuracy"] for e in events)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "best_accuracy": best,
        "to_best_s": min(e["t"] for e in events if e["accuracy"] == best),
        "trials": len(events),
        "events": events,
    }


def majority_share(profile: str, seed: int) -> float:
    from search.options import RunOptions
    from trainables.trial_steps import majority_accuracy, open_data

    return majority_accuracy(open_data({"data": RunOptions(profile_name=profile, seed=seed).data_settings()}))


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    found = {}
    for key in ("wall_s", "to_best_s", "cpu_s", "best_accuracy"):
        values = [run[key] for run in runs]
        found[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return found


def table(report: dict[str, Any]) -> str:
    lines = [
        "| case | way | wall to the end (s) | wall to the final best (s) | CPU (s) | best accuracy | majority share |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(stat: dict[str, float], digits: int = 0) -> str:
        return f"{stat['median']:.{digits}f} ({stat['min']:.{digits}f}-{stat['max']:.{digits}f})"

    for case, ways in report["cases"].items():
        for way, found in ways.items():
            s = found["summary"]
            lines.append(
                f"| {case} | {way} | {cell(s['wall_s'])} | {cell(s['to_best_s'])} | {cell(s['cpu_s'])} "
                f"| {cell(s['best_accuracy'], 3)} | {found['majority_share']:.3f} |"
            )
    return "\n".join(lines)


def figure(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cases = list(report["cases"])
    fig, axes = plt.subplots(1, len(cases), figsize=(6 * len(cases), 4), squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        ends = [run["wall_s"] for found in report["cases"][case].values() for run in found["runs"]]
        grid = np.linspace(0, max(ends), 400)
        for way, found in report["cases"][case].items():
            curves = []
            for run in found["runs"]:
                times = np.array([e["t"] for e in run["events"]])
                best = np.maximum.accumulate(np.array([e["accuracy"] for e in run["events"]]))
                index = np.searchsorted(times, grid, side="right") - 1
                curve = np.where(index >= 0, best[np.clip(index, 0, None)], np.nan)
                curve[grid > run["wall_s"]] = best[-1]
                curves.append(curve)
            stack = np.array(curves)
            (line,) = ax.plot(grid, np.nanmedian(stack, axis=0), label=way)
            ax.fill_between(
                grid, np.nanmin(stack, axis=0), np.nanmax(stack, axis=0), alpha=0.2, color=line.get_color()
            )
        ax.axhline(found["majority_share"], color="grey", linestyle=":", label="majority class")
        ax.set_title(f"{case} ({report['profile']}, {len(report['seeds'])} seeds)")
        ax.set_xlabel("wall-clock since start (s)")
        ax.set_ylabel("best accuracy so far")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def save(report: dict[str, Any], stem: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{stem}.json").write_text(json.dumps(report, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", type=int, default=12, help="NAS trials per way")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--out", default="vs_tutorial", help="file stem under bench/out/")
    parser.add_argument(
        "--base-from",
        default="",
        help="qat: a storage folder (may contain {seed}) whose base/ an earlier run trained; reused, not retrained",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--conclude", action="store_true", help="redraw the table and figure from bench/out/<out>.json"
    )
    parser.add_argument(
        "--merge",
        default="",
        help="comma list of file stems under bench/out/ (runs of one profile and budget) to join into <out>",
    )
    args = parser.parse_args()
    if args.merge:
        conclude(
            merged([json.loads((OUT / f"{stem}.json").read_text()) for stem in args.merge.split(",")]),
            args.out,
        )
        return
    if args.conclude:
        conclude(json.loads((OUT / f"{args.out}.json").read_text()), args.out)
        return
    if args.child:
        way, case, seed, storage = args.child[0], args.child[1], int(args.child[2]), Path(args.child[3])
        out = storage / f"events-{way}.json"
        if way == "tutorial":
            run_tutorial(case, args.profile, seed, args.budget, storage, out)
        else:
            run_adls(
                case, args.profile, seed, args.budget, storage, "sha" if way == "adls-sha" else "fifo", out
            )
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    report: dict[str, Any] = {
        "profile": args.profile,
        "seeds": seeds,
        "budget": args.budget,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "cases": {},
    }
    work = Path(tempfile.mkdtemp(prefix="bench-vs-tutorial-"))
    for case in args.cases.split(","):
        ways = [w for w in args.ways.split(",") if not (case == "qat" and w == "adls-sha")]
        found: dict[str, Any] = {way: {"runs": []} for way in ways}
        report["cases"][case] = found
        for seed in seeds:
            storage = work / f"{case}-{seed}"
            storage.mkdir()
            if case == "qat" and args.base_from:  # a base trained by an earlier run of this bench
                shutil.copytree(Path(args.base_from.format(seed=seed)) / "base", storage / "base")
            if case == "qat":  # the shared base, trained once per seed by adls, not timed
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "adls",
                        "run",
                        "base",
                        "--profile",
                        args.profile,
                        "--seed",
                        str(seed),
                        "--storage",
                        str(storage),
                    ],
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                )
            for way in ways if seed % 2 == 0 else ways[::-1]:
                shutil.rmtree(storage / ("lab2-nas" if case == "nas" else "lab1-qat"), ignore_errors=True)
                run = timed_way(way, case, args, seed, storage)
                run["seed"] = seed
                found[way]["runs"].append(run)
                print(
                    f"{case} seed {seed} {way}: {run['wall_s']:.0f} s, best {run['best_accuracy']:.3f} "
                    f"at {run['to_best_s']:.0f} s, CPU {run['cpu_s']:.0f} s, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                # Written after every run: a bench stopped early keeps what it measured.
                save(report, args.out)
    report["load_average_at_end"] = os.getloadavg()
    conclude(report, args.out)
    shutil.rmtree(work, ignore_errors=True)


def merged(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report of several runs of the bench (e.g. seeds or cases run one at a time); loads kept per part."""
    if len({(r["profile"], r["budget"]) for r in reports}) != 1:
        raise SystemExit("--merge joins runs of one profile and budget only")
    joined: dict[str, Any] = {
        "profile": reports[0]["profile"],
        "budget": reports[0]["budget"],
        "cpus": reports[0]["cpus"],
        "seeds": sorted({seed for r in reports for seed in r["seeds"]}),
        "parts": [
            {key: r.get(key) for key in ("seeds", "load_average_at_start", "load_average_at_end")}
            | {"cases": list(r["cases"])}
            for r in reports
        ],
        "cases": {},
    }
    for report in reports:
        for case, ways in report["cases"].items():
            into = joined["cases"].setdefault(case, {})
            for way, found in ways.items():
                into.setdefault(way, {"runs": []})["runs"] += found["runs"]
    return joined


def conclude(report: dict[str, Any], stem: str) -> None:
    """Summaries, the majority share, the JSON, the figure and the table of what `report` holds."""
    for found in report["cases"].values():
        majority = majority_share(report["profile"], report["seeds"][0])
        for way in [name for name, runs in found.items() if not runs["runs"]]:
            del found[way]
        for way in found.values():
            way["summary"] = summarize(way["runs"])
            way["majority_share"] = majority
    save(report, stem)
    figure(report, OUT / f"{stem}.png")
    print(table(report))
    print(f"-> {OUT / stem}.json, {OUT / stem}.png")


if __name__ == "__main__":
    main()
