"""Run named experiments as Ray Tune searches driven by Optuna, chaining their dependencies."""

import logging
import os
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from analysis.best import best_records, format_best
from analysis.figures import draw_figures
from analysis.paths import relative_path, resolve_paths
from analysis.results import load_results
from errors import ConfigError
from search import storage
from search.checkpoints import delete_checkpoints, drop_checkpoints
from search.early_stopping import SHA_BATCH, make_scheduler, rungs
from search.experiment import SearchVariant, allows_early_stopping, loaded_checkpoints, uses_budget
from search.interrupts import fit_or_interrupt
from search.options import RunOptions
from search.progress import TrialLedger
from search.quiet import quiet_driver
from search.ray_reaper import start_reaper
from search.ray_start import start_local_ray
from search.registry import EXPERIMENTS, expand, get_experiment
from search.results_table import mark_pareto_front, result_rows, write_table
from search.resume import interrupted_search, prime_study
from search.run_lock import ExperimentLock
from search.run_plan import RUN_FILE, RunPlan, read_run_file
from search.study_storage import StudySearch, check_fresh, shown_url, storage_url, study_name
from search.tcp_probe import unreachable_reason
from search.tune_callbacks import make_callbacks
from trainables.ray_adapter import ray_trainable
from trainables.trial_keys import PAUSE_EPOCHS, TRIAL_ERROR_KEY

log = logging.getLogger(__name__)
ADDRESS_TIMEOUT_S = 10.0


def run(name: str, options: RunOptions) -> dict[str, pd.DataFrame]:
    """Run an experiment or a lab (its experiments in dependency order); returns their tables."""
    options.validate()
    options.check_local_storage()
    check_ray_address(options.address or os.environ.get("RAY_ADDRESS"))
    # The first line of every run: which data, model and tokenizer, and any fallback said out loud.
    print(f"adls: {options.sources().headline()}", flush=True)
    quiet_driver(options.verbose)
    names = expand(name)
    if options.scheduler != "fifo" and (allowed := _used_only_by(allows_early_stopping, names)):
        raise ConfigError(
            f"--scheduler {options.scheduler} stops trials early, which {name} does not allow (its every "
            f"trial is part of the answer); it applies to {allowed}; drop the option"
        )
    if options.budget is not None and (allowed := _used_only_by(uses_budget, names)):
        raise ConfigError(
            f"--budget sets the trials of {allowed}; {name} does not use it (its trials are fixed "
            "by the profile); drop the option"
        )
    if options.trial == "surrogate":
        refused = [each for each in names if not getattr(get_experiment(each), "has_surrogate", False)]
        if refused:
            raise ConfigError(
                f"--trial surrogate: {', '.join(refused)} has no surrogate trial; it rehearses lab2-nas only"
            )
    plan = RunPlan(options)
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
    if storage.exists(run_file):
        stored = read_run_file(run_file)
        same = stored.get("identity") == plan.identity(name)
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
    # while the first lives (search/run_lock.py); reusing stored results above needs no lock.
    with ExperimentLock(folder):
        if storage.exists(run_file) or (force and storage.exists(folder)):
            moved = storage.move_aside(folder, "previous")
            print(f"[{name}] earlier results moved to {moved}", flush=True)
            _cap_previous(name, folder, plan.options)
        # A folder without run.json is an interrupted run: its searches resume where they stopped.
        return run_experiment(name, plan)


def _used_only_by(applies: Callable[[Any], bool], names: list[str]) -> str | None:
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


def run_experiment(name: str, plan: RunPlan) -> pd.DataFrame:
    """Run every variant of one experiment, write `trials.parquet`, `run.json` and the figures."""
    options = plan.options
    identity = plan.identity(name)
    inputs = {dependency: ensure_results(dependency, plan) for dependency in plan.dependencies(name)}
    # Which dependency results this run used, so a rerun of one of them makes these results stale.
    used = {dependency: (plan.stored_run(dependency) or {}).get("run_id") for dependency in inputs}
    variants = get_experiment(name).variants(options, inputs)
    folder = plan.folder(name)
    studies = storage_url(folder, options.optuna_storage)
    for variant in variants:
        # A new search must not append to an earlier run's study (refused before Ray starts).
        if not _can_resume(folder, variant, options):
            check_fresh(studies, study_name(name, search_name(variant, options), options.optuna_study_prefix))
    start_ray(options)
    started = time.time()
    rows: list[dict[str, Any]] = []
    for variant in variants:
        variant_rows = run_variant(name, variant, options, folder)
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
    for path in draw_figures(folder):
        print(f"[{name}] figure: {path}", flush=True)
    if studies:
        names = study_name(name, "<variant>", options.optuna_study_prefix)
        print(f"[{name}] Optuna studies {names} in {shown_url(studies)}", flush=True)
    print(f"[{name}] {len(table)} trials in {time.time() - started:.0f} s -> {folder}", flush=True)
    for line in format_best(best_records(table, 1)):
        print(line, flush=True)
    return table


def search_name(variant: SearchVariant, options: RunOptions) -> str:
    """The name of one variant's search: its Tune run folder and (after the experiment) its study."""
    return variant.name if options.repeats == 1 else f"{variant.name}-r{variant.repeat}"


def _can_resume(folder: str, variant: SearchVariant, options: RunOptions) -> bool:
    from ray import tune

    return tune.Tuner.can_restore(storage.join(folder, "tune", search_name(variant, options)))


def objective_record(variant: SearchVariant) -> dict[str, list[str]]:
    """What one search optimised, as run.json records it: metric names and directions."""
    metrics = [variant.metric] if isinstance(variant.metric, str) else list(variant.metric)
    modes = [variant.mode] if isinstance(variant.mode, str) else list(variant.mode)
    return {"metric": metrics, "mode": modes}


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


def trial_settings(variant: SearchVariant, options: RunOptions) -> dict[str, Any]:
    """The fixed part of every trial's config in a search (the sampled params are merged over it)."""
    return {
        **variant.settings,
        "data": options.data_settings(),
        "train": options.train_settings(),
        "seed": options.seed + variant.repeat,
        "mase_exact": options.mase_exact,
        "verbose": options.verbose,
    }


def run_variant(name: str, variant: SearchVariant, options: RunOptions, folder: str) -> list[dict[str, Any]]:
    """One Tune experiment: OptunaSearch over the variant's space, one trial per sample."""
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    run_name = search_name(variant, options)
    # Progress reports during training carry `eval_accuracy`, not the search's metric, which trials
    # report at their end; Tune's per-result check would reject them. _fit_to_the_end checks instead.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # Tune's CSV and JSON loggers are named in make_callbacks; its automatic TensorBoard logger
    # imports torch into the driver (tensorboardX does), so it comes only with --callbacks tensorboard.
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    trial_epochs = variant.early_stopping_epochs if options.scheduler != "fifo" else None
    trial_rungs = rungs(trial_epochs) if trial_epochs else []
    settings = trial_settings(variant, options)
    pausing = options.scheduler == "sha" and bool(trial_rungs)
    if pausing:
        # Trials hand over a training snapshot at the rung, where the scheduler pauses them.
        settings[PAUSE_EPOCHS] = trial_rungs[:1]
    trainable = tune.with_resources(
        (variant.tune_adapter or ray_trainable)(
            variant.trial_fn,
            settings,
            _objectives(variant),
            cpus=options.cpus_per_trial,
            gpus=options.gpus_per_trial,
        ),
        {"cpu": options.cpus_per_trial, "gpu": options.gpus_per_trial},
    )
    label = f"{name}/{variant.name}" + (f"#{variant.repeat}" if options.repeats > 1 else "")
    ledger = TrialLedger(label, variant.metric, variant.mode, variant.num_samples)
    tune_path = storage.join(folder, "tune", run_name)
    # A search the driver left unfinished (Ctrl-C, SIGKILL, a lost head) keeps every trial whose
    # result is on storage and runs only the rest (search/resume.py; Tune's pickles are not read).
    # A trial an early-stopping scheduler had stopped left no final checkpoint: it runs again.
    resumed = interrupted_search(tune_path, _objectives(variant))
    done = resumed.finished if resumed else []
    if resumed:
        print(
            f"[{label}] resuming the interrupted search in {tune_path}: {len(done)} trials finished"
            + (f", unfinished ones moved to {resumed.set_aside}" if resumed.set_aside else ""),
            flush=True,
        )
    base = _row_base(name, variant, options, settings)
    remaining = variant.num_samples - len(done)
    # Tune spaces are converted here (not passed as param_space) so define-by-run functions and
    # dict spaces take one path; OptunaSearch warns about unconverted spaces otherwise.
    space = variant.space if callable(variant.space) else OptunaSearch.convert_search_space(variant.space)
    # The study in its database (search/study_storage.py); a resumed search reopens it.
    searcher = StudySearch(
        space=space,
        metric=variant.metric,
        mode=variant.mode,
        sampler=variant.sampler,
        study_name=study_name(name, run_name, options.optuna_study_prefix),
        url=storage_url(folder, options.optuna_storage),
    )
    if resumed:
        prime_study(searcher._ot_study, done, variant.sampler, space, _objectives(variant))
    if remaining <= 0:
        # Every trial had finished before the driver stopped (e.g. the last one during Ctrl-C):
        # nothing to run, but the study may lack the trials that finished after its last write.
        searcher.write_finished_trials()
        return resumed.rows(base)
    scheduler = make_scheduler(options.scheduler, trial_epochs, num_trials=remaining)
    concurrent = max_concurrent(options, variant.max_concurrent)
    if pausing:
        # Tune's concurrency limit counts paused trials as running: a batch must fit in it to fill.
        # Paused trials hold no CPU, so the trials that run at once are still bounded by the CPUs.
        concurrent = max(concurrent, SHA_BATCH)
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            num_samples=remaining,
            max_concurrent_trials=concurrent,
            reuse_actors=variant.reuse_workers,
            scheduler=scheduler,
        ),
        run_config=tune.RunConfig(
            name=run_name,
            storage_path=storage.join(folder, "tune"),
            failure_config=tune.FailureConfig(max_failures=2),
            # Trials report one model checkpoint, at their end; a paused trial's training snapshot
            # before it is not needed once that final one exists.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            callbacks=[ledger, *make_callbacks(options.callbacks, name)],
            verbose=0,
        ),
    )
    stopped: set[str] = scheduler.stopped if scheduler is not None else set()
    try:
        grid = _fit_to_the_end(
            tuner, variant, remaining, (lambda grid, variant: stopped) if scheduler else None
        )
    except (OSError, EOFError) as error:  # Tune reading back files it could not write (a full disk)
        storage.raise_if_full(tune_path, error)
        raise
    # Tune's last snapshot normally wrote them all; this makes the study match the table regardless.
    searcher.write_finished_trials()
    rows = result_rows(grid, ledger.launch_index, base, stopped, trial_rungs, ledger.configs)
    # A stopped trial's last checkpoint is the training snapshot it paused with: no model to keep.
    delete_checkpoints(r.checkpoint.path for r in grid if r.checkpoint and _trial_id(r) in stopped)
    return resumed.rows(base) + resumed.renumber(rows) if resumed else rows


def _fit_to_the_end(
    tuner: Any,
    variant: SearchVariant,
    expected: int,
    stopped: Callable[[Any, SearchVariant], Collection[str]] | None = None,
) -> Any:
    """Run the Tuner; raise KeyboardInterrupt if it stopped early (Ctrl-C, SIGTERM) so no table is written.

    Trials report the variant's metric only at their end (progress reports carry other keys), so
    a trial without an error and without that metric never finished, unless the search's
    early-stopping scheduler stopped it (`stopped(grid, variant)`: those trial ids). The stored
    Tune state lets the same command resume.
    """
    grid = fit_or_interrupt(tuner)
    ended = set(stopped(grid, variant)) if stopped else set()
    unfinished = [
        r
        for r in grid
        if not r.error
        and not _has_result(r.metrics, variant)
        and (r.metrics or {}).get("trial_id") not in ended
    ]
    if len(grid) < expected or unfinished:
        raise KeyboardInterrupt(f"{variant.name}: {len(unfinished)} trials unfinished")
    return grid


def _trial_id(result: Any) -> str | None:
    return (result.metrics or {}).get("trial_id")


def _has_result(metrics: dict[str, Any] | None, variant: SearchVariant) -> bool:
    """Whether a trial's last report is its final one (the objective, or the reason it failed)."""
    metric = variant.metric if isinstance(variant.metric, str) else variant.metric[0]
    return bool({metric, TRIAL_ERROR_KEY} & set(metrics or {}))


def _objectives(variant: SearchVariant) -> list[str]:
    return objective_record(variant)["metric"]


def _row_base(
    name: str, variant: SearchVariant, options: RunOptions, settings: dict[str, Any]
) -> dict[str, Any]:
    """The columns every row of one variant shares."""
    objective = objective_record(variant)
    return {
        "experiment": name,
        "variant": variant.name,
        "repeat": variant.repeat,
        "objective": ",".join(objective["metric"]),
        "objective_mode": ",".join(objective["mode"]),
        "profile": options.profile_name,
        "dataset": options.profile.dataset,
        "seed": settings["seed"],
        "mase_exact": options.mase_exact,
        **options.sources().as_fields(),
        "optuna_study": study_name(name, search_name(variant, options), options.optuna_study_prefix),
        **variant.sampler_settings,
    }


def max_concurrent(options: RunOptions, cap: int | None = None) -> int:
    """As many trials as the cluster's CPUs (or GPUs) allow, at most `cap`, unless the user set a limit."""
    if options.max_concurrent:
        return options.max_concurrent
    if cap is not None:
        return max(1, min(cap, max_concurrent(options)))
    import ray

    resources = ray.cluster_resources()
    by_cpu = int(resources.get("CPU", 1) // options.cpus_per_trial)
    if options.gpus_per_trial > 0:
        by_gpu = int(resources.get("GPU", 0) // options.gpus_per_trial)
        return max(1, min(by_cpu, by_gpu) if by_gpu else by_cpu)
    return max(1, by_cpu)


def check_ray_address(address: str | None, timeout: float = ADDRESS_TIMEOUT_S) -> None:
    """Refuse, in seconds and before Ray starts, an --address that is malformed or where nothing listens.

    `ray.init` would retry such an address for minutes, deaf to Ctrl-C. `auto` (find the cluster
    on this machine) and no address (start Ray here) are left to Ray.
    """
    if not address or address.strip() in ("auto", "local"):
        return
    usage = "give HOST:PORT of the cluster's head (e.g. 10.0.0.5:6379), ray://HOST:10001 or auto"
    text = address.strip()
    try:
        parsed = urlsplit(text if "://" in text else f"ray://{text}")
        host, port = parsed.hostname, parsed.port
    except ValueError as error:  # a port out of range, a broken [IPv6] literal
        raise ConfigError(f"--address {address!r} is not usable ({error}); {usage}") from None
    if parsed.scheme not in ("ray", "http", "https") or not host or port is None or " " in text:
        raise ConfigError(f"--address {address!r} is not an address of a Ray cluster; {usage}")
    reason = unreachable_reason(host, port, timeout)
    if reason:
        raise ConfigError(
            f"nothing answers at --address {address!r} ({reason}); start the cluster (ray start --head, "
            "ray up) or drop --address to run on this machine"
        )


def start_ray(options: RunOptions) -> None:
    """Join the cluster at --address (or RAY_ADDRESS), or start Ray in this process.

    A Ray started here runs trials at this process's niceness (search/ray_start.py). Worker
    output is shown only with `--verbose`.
    """
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    address = options.address or os.environ.get("RAY_ADDRESS")
    try:
        if address:
            ray.init(address=address, log_to_driver=options.verbose, logging_level=logging.WARNING)
        else:
            # "local" always starts a private instance, never attaching to a `ray start` cluster
            # that happens to run on this machine.
            start_local_ray(log_to_driver=options.verbose)
            # Ray's processes here are this driver's: if it dies without ray.shutdown() (SIGKILL),
            # the watchdog stops them instead of leaving trials running (search/ray_reaper.py).
            start_reaper()
    except ConnectionError as error:
        raise ConfigError(
            f"cannot reach a Ray cluster at {address!r}: {error}; start one or drop --address"
        ) from None
    check_resources(options, joined=bool(address))


def check_resources(options: RunOptions, joined: bool) -> None:
    """Refuse, before any trial starts, a run whose trials could never run or whose results would scatter.

    On a joined cluster a local --storage folder must be visible from every node. A private local
    Ray cannot grow, so --gpus-per-trial there needs a GPU Ray can see (Tune would wait forever);
    a joined cluster may still add GPU nodes (autoscaling), so it is not refused there.
    """
    import ray

    from search.shared_storage import require_shared_storage

    if joined:
        location = storage.normalize(options.storage)
        if not storage.is_uri(location):
            require_shared_storage(location)
    elif options.gpus_per_trial > 0 and ray.cluster_resources().get("GPU", 0) == 0:
        raise ConfigError(
            f"--gpus-per-trial={options.gpus_per_trial} but Ray sees no GPU on this machine; drop the option "
            "(trials then use the CPU) or submit to a cluster with GPUs (adls submit)"
        )
