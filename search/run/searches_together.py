"""An experiment's searches in one Tuner: one set of trial workers for all of them.

A Tuner of its own per search (variant) starts new trial actors that import Ray Tune again
(docs/performance.md 9.2). When the searches of an experiment can share a Tuner, they do:
one trainable that runs each trial's own search (trainables/ray_adapter.ray_group_trainable), one
searcher that keeps every search's own Optuna study (search/study/search_group.py), and the
searches' trials under `<experiment>/tune/searches/`. Rows, studies, resume and the results table
are per search as before. Searches share a Tuner only where nothing per search would be lost:
no early stopping (its batches and rungs are per search), no growing of a finished run (that goes
on in the searches' own Tuners), no search-specific trainable adapter, one metric, one
concurrency cap, and no search folder of an earlier layout to resume.
"""

import os
from collections.abc import Sequence
from typing import Any

from search import storage
from search.experiments.experiment import SearchVariant
from search.options import RunOptions
from search.run.progress import TrialLedger
from search.run.results_table import result_rows
from search.run.resume import FinishedTrial, InterruptedSearch, interrupted_search, prime_study
from search.run.tuner import (
    TunerParts,
    fit_to_the_end,
    make_tuner,
    objective_record,
    row_base,
    search_name,
    trial_settings,
    variant_search,
)
from search.schedulers.early_stopping import early_stopping
from search.study.search_group import SearchGroup
from trainables.ray_adapter import ray_group_trainable
from trainables.trial_keys import SEARCH_KEY

# `<experiment>/tune/<GROUP_FOLDER>`: the Tune run of searches that share a Tuner.
GROUP_FOLDER = "searches"
# ADLS_SEARCHES_TOGETHER=0 in the driver's environment gives every search a Tuner of its own.
TOGETHER_ENV = "ADLS_SEARCHES_TOGETHER"


def share_a_tuner(variants: Sequence[SearchVariant], options: RunOptions, folder: str, growing: bool) -> bool:
    """Whether the searches of one experiment run in one Tuner (see the module's conditions)."""
    if len(variants) < 2 or growing or os.environ.get(TOGETHER_ENV, "1") == "0":
        return False
    first = variants[0]
    if options.scheduler != "fifo" and any(v.early_stopping_epochs for v in variants):
        return False
    same = all(
        v.tune_adapter is None
        and v.metric == first.metric
        and v.mode == first.mode
        and v.max_concurrent == first.max_concurrent
        and v.reuse_workers == first.reuse_workers
        for v in variants
    )
    # A run interrupted before this layout resumes in its searches' own folders.
    return same and not any(
        storage.exists(storage.join(folder, "tune", search_name(v, options))) for v in variants
    )


def group_path(folder: str) -> str:
    """Where the shared Tuner keeps its trials."""
    return storage.join(folder, "tune", GROUP_FOLDER)


def run_together(
    name: str, variants: Sequence[SearchVariant], options: RunOptions, folder: str
) -> list[list[dict[str, Any]]]:
    """Run (or resume) the searches of `name` in one Tuner; one list of rows per search, in order.

    Like run_variant for each search: a search's rows are numbered in its own launch order, its
    study holds its trials, and an interrupted run keeps every finished trial and runs the rest.
    Raises KeyboardInterrupt when the Tuner stopped before its end (nothing is written).
    """
    tune_path = group_path(folder)
    keys = [search_name(v, options) for v in variants]
    objectives = objective_record(variants[0])["metric"]
    resumed = interrupted_search(tune_path, objectives)
    done: dict[str, list[FinishedTrial]] = {key: [] for key in keys}
    for trial in resumed.finished if resumed else []:
        done.setdefault(str(trial.params.get(SEARCH_KEY)), []).append(trial)
    if resumed:
        print(
            f"[{name}] resuming the interrupted searches in {tune_path}: "
            f"{sum(len(d) for d in done.values())} trials finished"
            + (f", unfinished ones moved to {resumed.set_aside}" if resumed.set_aside else ""),
            flush=True,
        )
    members, searches, bases, remaining = [], {}, {}, []
    for variant, key in zip(variants, keys, strict=True):
        settings = trial_settings(variant, options)
        bases[key] = row_base(name, variant, options, settings)
        searches[key] = (variant.trial_fn, settings)
        searcher, space = variant_search(name, variant, options, folder, fresh=not resumed)
        if resumed:
            prime_study(searcher.study, done[key], variant.sampler, space, objectives, variant.constraints)
        left = max(0, variant.num_samples - len(done[key]))
        remaining.append(left)
        members.append((key, searcher, left))
    group = SearchGroup(members)
    kept = {key: InterruptedSearch(done[key], None).rows(bases[key]) for key in keys}
    total = sum(remaining)
    if total == 0:
        group.write_finished_trials()
        return [kept[key] for key in keys]
    label = f"{name} ({len(variants)} searches)"
    ledger = TrialLedger(label, variants[0].metric, variants[0].mode, sum(v.num_samples for v in variants))
    stopping = early_stopping("fifo", None, num_trials=total)
    trainable = ray_group_trainable(
        searches, objectives, cpus=options.cpus_per_trial, gpus=options.gpus_per_trial
    )
    first = variants[0]
    parts = TunerParts(name, GROUP_FOLDER, trainable, group, total, first.max_concurrent, first.reuse_workers)
    tuner = make_tuner(parts, options, folder, stopping, ledger)
    try:
        grid = fit_to_the_end(tuner, variants[0], total, stopping)
    except Exception as error:  # Tune reading back files it could not write (EOFError, UnpicklingError)
        storage.raise_if_full(tune_path, error)
        raise
    group.write_finished_trials()
    by_key: dict[str, list[Any]] = {key: [] for key in keys}
    for result in grid:
        trial_id = (result.metrics or {}).get("trial_id")
        config = result.config or ledger.configs.get(trial_id) or {}
        by_key[str(config.get(SEARCH_KEY))].append(result)
    rows = []
    for key in keys:
        new = result_rows(by_key[key], ledger.launch_index, bases[key], configs=ledger.configs)
        rows.append(_numbered(kept[key], new))
    return rows


def _numbered(kept: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A search's rows numbered 0.. in its own launch order: kept trials first, then the new ones.

    The shared Tuner numbers launches across all searches (and from 0 again after a resume).
    """
    ordered = sorted(kept, key=lambda r: r["trial_index"]) + sorted(new, key=lambda r: r["trial_index"])
    for index, row in enumerate(ordered):
        row["trial_index"] = index
    return ordered
