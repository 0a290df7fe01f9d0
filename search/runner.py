"""Run named experiments as Ray Tune searches driven by Optuna, chaining their dependencies."""

import logging
import os
import time
from typing import Any

import pandas as pd

from analysis.figures import draw_figures
from analysis.results import load_results
from search import storage
from search.experiment import SearchVariant
from search.options import RunOptions
from search.progress import TrialLedger
from search.registry import expand, get_experiment
from search.results_table import result_rows, write_table
from trainables.compress.errors import ConfigError
from trainables.ray_adapter import ray_trainable

log = logging.getLogger(__name__)
RUN_FILE = "run.json"


def run(name: str, options: RunOptions) -> dict[str, pd.DataFrame]:
    """Run an experiment or a lab (its experiments in dependency order); returns their tables."""
    options.validate()
    return {each: ensure_results(each, options, force=options.force) for each in expand(name)}


def experiment_dir(name: str, options: RunOptions) -> str:
    return storage.join(storage.normalize(options.storage), name)


def ensure_results(name: str, options: RunOptions, force: bool = False) -> pd.DataFrame:
    """Reuse the stored results of `name` when they match this run's identity, else run it.

    Identity is experiment, profile, data and seed. A stored run of another identity (or any
    stored run under --force) is moved aside to `<name>.previous`, never deleted.
    """
    folder = experiment_dir(name, options)
    run_file = storage.join(folder, RUN_FILE)
    if storage.exists(run_file):
        stored = storage.read_json(run_file)
        if not force and stored.get("identity") == options.identity(name):
            log.info("reusing %s (same profile, data and seed); --force reruns it", folder)
            print(f"[{name}] reusing stored results in {folder} (--force reruns)", flush=True)
            return load_results(folder)
        moved = storage.move_aside(folder, "previous")
        print(f"[{name}] earlier results moved to {moved}", flush=True)
    elif storage.exists(folder):
        # A folder without run.json is an interrupted run: keep it aside for inspection.
        storage.move_aside(folder, "interrupted")
    return run_experiment(name, options)


def run_experiment(name: str, options: RunOptions) -> pd.DataFrame:
    """Run every variant of one experiment, write `trials.parquet`, `run.json` and the figures."""
    experiment = get_experiment(name)
    inputs = {dependency: ensure_results(dependency, options) for dependency in experiment.requires}
    variants = experiment.variants(options, inputs)
    start_ray(options)
    folder = experiment_dir(name, options)
    started = time.time()
    rows: list[dict[str, Any]] = []
    for variant in variants:
        rows += run_variant(name, variant, options, folder)
    table = write_table(rows, folder)
    storage.write_json(
        storage.join(folder, RUN_FILE),
        {
            "identity": options.identity(name),
            "options": options.to_dict(),
            "profile": options.profile.to_dict(),
            "seconds": time.time() - started,
            "variants": [v.name for v in variants],
        },
    )
    if not storage.is_uri(folder):
        for path in draw_figures(folder):
            print(f"[{name}] figure: {path}", flush=True)
    print(f"[{name}] {len(table)} trials in {time.time() - started:.0f} s -> {folder}", flush=True)
    return table


def run_variant(name: str, variant: SearchVariant, options: RunOptions, folder: str) -> list[dict[str, Any]]:
    """One Tune experiment: OptunaSearch over the variant's space, one trial per sample."""
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    # Tune spaces are converted here (not passed as param_space) so define-by-run functions and
    # dict spaces take one path; OptunaSearch warns about unconverted spaces otherwise.
    space = variant.space if callable(variant.space) else OptunaSearch.convert_search_space(variant.space)
    searcher = OptunaSearch(space=space, metric=variant.metric, mode=variant.mode, sampler=variant.sampler)
    settings = {
        **variant.settings,
        "data": options.data_settings(),
        "train": options.train_settings(),
        "seed": options.seed + variant.repeat,
        "cpus_per_trial": options.cpus_per_trial,
        "gpus_per_trial": options.gpus_per_trial,
    }
    trainable = tune.with_resources(
        ray_trainable(variant.trial_fn, settings),
        {"cpu": options.cpus_per_trial, "gpu": options.gpus_per_trial},
    )
    label = f"{name}/{variant.name}" + (f"#{variant.repeat}" if options.repeats > 1 else "")
    ledger = TrialLedger(label, variant.metric, variant.mode, variant.num_samples)
    run_name = variant.name if options.repeats == 1 else f"{variant.name}-r{variant.repeat}"
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            num_samples=variant.num_samples,
            max_concurrent_trials=max_concurrent(options),
        ),
        run_config=tune.RunConfig(
            name=run_name,
            storage_path=storage.join(folder, "tune"),
            failure_config=tune.FailureConfig(max_failures=2),
            callbacks=[ledger],
            verbose=0,
        ),
    )
    grid = tuner.fit()
    base = {
        "experiment": name,
        "variant": variant.name,
        "repeat": variant.repeat,
        "profile": options.profile_name,
        "dataset": options.profile.dataset,
        "seed": settings["seed"],
        **variant.sampler_settings,
    }
    return result_rows(grid, ledger.launch_index, base)


def max_concurrent(options: RunOptions) -> int:
    """As many trials as the cluster's CPUs (or GPUs) allow, unless the user set a limit."""
    if options.max_concurrent:
        return options.max_concurrent
    import ray

    resources = ray.cluster_resources()
    by_cpu = int(resources.get("CPU", 1) // options.cpus_per_trial)
    if options.gpus_per_trial > 0:
        by_gpu = int(resources.get("GPU", 0) // options.gpus_per_trial)
        return max(1, min(by_cpu, by_gpu) if by_gpu else by_cpu)
    return max(1, by_cpu)


def start_ray(options: RunOptions) -> None:
    """Join the cluster at --address (or RAY_ADDRESS), or start Ray in this process."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    address = options.address or os.environ.get("RAY_ADDRESS")
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            # "local" always starts a private instance, never attaching to a `ray start` cluster
            # that happens to run on this machine.
            ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING)
    except ConnectionError as error:
        raise ConfigError(f"cannot reach a Ray cluster at {address!r}: {error}; start one or drop --address") from None
