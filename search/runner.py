"""Run named experiments in dependency order, reusing stored results, and write each one's run.json.

`run(name, options)` validates the options before Ray starts (ConfigError), expands a lab, and for
each experiment reuses `<storage>/<name>/` when its run.json identity matches this run's
(search/run_plan.py), else moves it aside and runs every variant (search/run/tuner.py). It returns
each experiment's results table.
"""

import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd

from analysis.best import best_records, format_best
from analysis.paths import relative_path, resolve_paths
from analysis.results import load_results
from errors import ConfigError
from search import storage
from search.experiments.experiment import Experiment, loaded_checkpoints
from search.experiments.registry import EXPERIMENTS, expand, get_experiment
from search.options import RunOptions
from search.ray_session.connect import check_ray_address, ray_address, start_ray
from search.run.checkpoints import delete_checkpoints, drop_checkpoints
from search.run.lock import ExperimentLock
from search.run.quiet import quiet_driver
from search.run.results_table import mark_pareto_front, write_table
from search.run.searches_together import group_path, run_together, share_a_tuner
from search.run.tuner import can_resume, objective_record, run_variant, search_name
from search.run.warm_up import warm_idle_slots
from search.run_plan import RUN_FILE, RunPlan, read_run_file
from search.study.constraints import mark_feasible
from search.study.database import check_fresh, shown_url, storage_url, study_name

log = logging.getLogger(__name__)


def run(name: str, options: RunOptions) -> dict[str, pd.DataFrame]:
    """Run an experiment or a lab (its experiments in dependency order); returns their tables."""
    options.validate()
    options.check_local_storage()
    check_ray_address(ray_address(options))
    # The first line of every run: which data, model and tokenizer, and any fallback said out loud.
    print(f"adls: {options.sources().headline()}", flush=True)
    quiet_driver(options.verbose)
    names = expand(name)
    if options.scheduler != "fifo" and (allowed := _used_only_by(lambda e: e.early_stopping, names)):
        raise ConfigError(
            f"--scheduler {options.scheduler} stops trials early, which {name} does not allow (its every "
            f"trial is part of the answer); it applies to {allowed}; drop the option"
        )
    if options.budget is not None and (allowed := _used_only_by(lambda e: e.uses_budget, names)):
        raise ConfigError(
            f"--budget sets the trials of {allowed}; {name} does not use it (its trials are fixed "
            "by the profile); drop the option"
        )
    if options.constraints and (allowed := _used_only_by(lambda e: e.uses_constraints, names)):
        raise ConfigError(
            f"--constraint applies to {allowed}; {name} does not search under a budget; drop the option"
        )
    if options.seed_from and "lab3-mixed" not in names:
        raise ConfigError(f"--seed-from applies to lab3-mixed; {name} takes no seeds; drop the option")
    if options.trial == "surrogate":
        refused = [each for each in names if not get_experiment(each).has_surrogate]
        if refused:
            raise ConfigError(
                f"--trial surrogate: {', '.join(refused)} has no surrogate trial; it rehearses lab2-nas only"
            )
    plan = RunPlan(options, order=names)
    for each in names:
        # Every experiment's own option checks (identity_fields) run now, not after its predecessors.
        plan.identity(each)
    return {each: ensure_results(each, plan, force=options.force) for each in names}


def ensure_results(name: str, plan: RunPlan, force: bool = False) -> pd.DataFrame:
    """Reuse the stored results of `name` when they match this run's identity, else run it.

    Identity is experiment, profile, data, seed and the experiment's own `identity_fields`
    (see search/run_plan.py). A stored run of another identity (or any
    stored run under --force) is moved aside to `<name>.previous`, never deleted.
    """
    folder = plan.folder(name)
    run_file = storage.join(folder, RUN_FILE)
    grow: pd.DataFrame | None = None
    if storage.exists(run_file):
        stored = read_run_file(run_file)
        same = stored.get("identity") == plan.identity(name)
        if not same and not force and _only_budget_differs(stored, plan, name):
            table = load_results(folder)
            have = int(table.groupby(["variant", "repeat"]).size().max()) if len(table) else 0
            want = int(plan.options.budget or 0)
            if want <= have:
                print(
                    f"[{name}] reusing stored results in {folder}: its searches ran {have} trials each, "
                    f"--budget {want} asks for no more (--force reruns)",
                    flush=True,
                )
                return table
            grow = table
        changed = plan.changed_inputs(stored) if same and not force else []
        if changed:
            print(
                f"[{name}] {', '.join(changed)} changed since these results were made; rerunning", flush=True
            )
        if not force and same and not changed:
            log.info("reusing %s (same profile, data and seed); --force reruns it", folder)
            print(f"[{name}] reusing stored results in {folder} (--force reruns)", flush=True)
            return load_results(folder)
    # One writer per experiment folder: a second run of it on this storage is refused in one line
    # while the first lives (search/run/lock.py); reusing stored results above needs no lock.
    with ExperimentLock(folder):
        if grow is not None:
            # A larger --budget on a finished search: the same searches (and studies) go on.
            return run_experiment(name, plan, grow)
        if storage.exists(run_file) or (force and storage.exists(folder)):
            moved = storage.move_aside(folder, "previous")
            print(f"[{name}] earlier results moved to {moved}", flush=True)
            _cap_previous(name, folder, plan.options)
        # A folder without run.json is an interrupted run: its searches resume where they stopped.
        return run_experiment(name, plan)


def _used_only_by(applies: Callable[[Experiment], bool], names: list[str]) -> str | None:
    """None when one of `names` uses an option (`applies`); else the experiments that do, for the message."""
    if any(applies(get_experiment(n)) for n in names):
        return None
    return ", ".join(n for n in EXPERIMENTS if applies(get_experiment(n)))


def _cap_previous(name: str, folder: str, options: RunOptions) -> None:
    """Keep only the newest --keep-previous `<name>.previous*` folders (each a whole earlier run)."""
    for path in storage.prune_aside(folder, "previous", options.keep_previous):
        print(
            f"[{name}] deleted an older earlier run {path} (--keep-previous {options.keep_previous})",
            flush=True,
        )


def _only_budget_differs(stored: dict[str, Any], plan: RunPlan, name: str) -> bool:
    """Whether the stored finished run of `name` is this run's but for a --budget given now, with
    its inputs unchanged: then its searches grow (or are reused), never rerun from zero."""
    if plan.options.budget is None or not get_experiment(name).uses_budget:
        return False
    before = {k: v for k, v in (stored.get("identity") or {}).items() if k != "budget"}
    now = {k: v for k, v in plan.identity(name).items() if k != "budget"}
    return before == now and not plan.changed_inputs(stored)


def _search_rows(table: pd.DataFrame, variant: Any) -> list[dict[str, Any]]:
    """The stored rows of one search (variant and repeat) as plain dicts, NaN as None."""
    rows = table[(table["variant"] == variant.name) & (table["repeat"] == variant.repeat)]
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in rows.sort_values("trial_index", kind="stable").to_dict("records")
    ]


def run_experiment(name: str, plan: RunPlan, grow: pd.DataFrame | None = None) -> pd.DataFrame:
    """Run every variant of one experiment, write `trials.parquet`, `run.json` and the figures."""
    options = plan.options
    identity = plan.identity(name)
    inputs = {dependency: ensure_results(dependency, plan) for dependency in plan.dependencies(name)}
    # Which dependency results this run used, so a rerun of one of them makes these results stale.
    used = {dependency: (plan.stored_run(dependency) or {}).get("run_id") for dependency in inputs}
    variants = get_experiment(name).variants(options, inputs)
    folder = plan.folder(name)
    studies = storage_url(folder, options.optuna_storage)
    together = share_a_tuner(variants, options, folder, growing=grow is not None)
    resumable = together and storage.exists(group_path(folder))
    for variant in variants:
        # A new search must not append to an earlier run's study (refused before Ray starts).
        if grow is None and not resumable and not can_resume(folder, variant, options):
            check_fresh(studies, study_name(name, search_name(variant, options), options.optuna_study_prefix))
    start_ray(options)
    warm_idle_slots(variants, options, together, later=bool(plan.later(name)))
    started = time.time()
    rows: list[dict[str, Any]] = []
    if together:
        # One Tuner (one set of trial workers) for every search of the experiment.
        searched = run_together(name, variants, options, folder)
    else:
        searched = [
            run_variant(name, variant, options, folder, None if grow is None else _search_rows(grow, variant))
            for variant in variants
        ]
    for variant, variant_rows in zip(variants, searched, strict=True):
        if variant.constraints:
            mark_feasible(variant_rows, variant.constraints)
        if not isinstance(variant.metric, str):
            # A multi-objective search returns a set of best trials, not one: mark them.
            mark_pareto_front(variant_rows, variant.metric, variant.mode)
        rows += variant_rows
    for row in rows:  # full paths or URIs while choosing which checkpoints to keep
        row["checkpoint"] = storage.as_uri(row.get("checkpoint"), folder)
        row["trial_path"] = storage.as_uri(row.get("trial_path"), folder)
    loaded = loaded_checkpoints(get_experiment(name), pd.DataFrame(rows))
    dropped = drop_checkpoints(rows, options.keep_checkpoints, loaded)
    for row in rows:  # stored relative to the folder, so a moved or fetched folder still works
        row["checkpoint"] = relative_path(row.get("checkpoint"), folder)
        row["trial_path"] = relative_path(row.get("trial_path"), folder)
    # Later stages load checkpoints from wherever they run: resolved to full paths or URIs here.
    table = resolve_paths(write_table(rows, folder), folder)
    if rows and all(row.get("status") == "ERROR" for row in rows):
        # Nothing to build on: without run.json the table is kept to read, never reused as results.
        raise ConfigError(
            f"every trial of {name} failed ({len(rows)}), e.g. {rows[0].get('error')}; the errors are in "
            f"{storage.join(folder, 'trials.csv')}; fix the cause and run again (nothing is reused)"
        )
    storage.write_json(
        storage.join(folder, RUN_FILE),
        {
            "identity": identity,
            "run_id": uuid.uuid4().hex,
            "inputs": used,
            "options": options.to_dict(),
            "profile": options.profile.to_dict(),
            **options.sources().as_fields(),
            "fallbacks": list(options.sources().fallbacks),
            "seconds": time.time() - started,
            "variants": [v.name for v in variants],
            "lab_task": EXPERIMENTS[name].lab_task,
            "objectives": {v.name: objective_record(v) for v in variants},
            "versions": versions(),
        },
    )
    # After the table (which no longer names them) is written: an interrupted delete loses nothing.
    delete_checkpoints(dropped)
    _draw_figures(name, folder)
    if studies:
        names = study_name(name, "<variant>", options.optuna_study_prefix)
        print(f"[{name}] Optuna studies {names} in {shown_url(studies)}", flush=True)
    print(f"[{name}] {len(table)} trials in {time.time() - started:.0f} s -> {folder}", flush=True)
    for line in format_best(best_records(table, 1)):
        print(line, flush=True)
    return table


def _draw_figures(name: str, folder: str) -> None:
    # Imported here: matplotlib loads while Ray starts (search/ray_session/connect.start_ray).
    from analysis.figures import draw_figures

    for path in draw_figures(folder):
        print(f"[{name}] figure: {path}", flush=True)


def versions() -> dict[str, str]:
    """The versions of what decides a result (Python, Ray, Optuna, torch, transformers)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("ray", "optuna", "torch", "transformers"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found
