"""One Tune search: the Tuner over one variant, resumed from its trial folders, and its result rows.

`run_variant(name, variant, options, folder)` runs (or resumes) one variant's search under
`<folder>/tune/<search_name>` with our study search (search/study/database.py) and the scheduler that
`--scheduler` names, and returns one row per trial; it raises KeyboardInterrupt when the search
stopped early (Ctrl-C, SIGTERM), so the caller writes no table. Ray must be started
(search/ray_session/connect.py).
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from search import storage
from search.experiments.experiment import SearchVariant
from search.options import RunOptions
from search.run.callbacks import make_callbacks
from search.run.checkpoints import delete_checkpoints
from search.run.halving_resume import HalvingResume, kept_folders, plan_resume
from search.run.interrupts import fit_or_interrupt
from search.run.progress import TrialLedger
from search.run.results_table import result_rows
from search.run.resume import FinishedTrial, InterruptedSearch, interrupted_search, prime_study, stored_trials
from search.schedulers.early_stopping import EarlyStopping, early_stopping, keeps_state
from search.schedulers.halving_state import read_state, state_location
from search.study.database import StudySearch, storage_url, study_name
from trainables.ray_adapter import ray_trainable
from trainables.trial_keys import PAUSE_EPOCHS, PROGRESS_METRIC, TRIAL_ERROR_KEY


def search_name(variant: SearchVariant, options: RunOptions) -> str:
    """The name of one variant's search: its Tune run folder and (after the experiment) its study."""
    return variant.name if options.repeats == 1 else f"{variant.name}-r{variant.repeat}"


def can_resume(folder: str, variant: SearchVariant, options: RunOptions) -> bool:
    from ray import tune

    return tune.Tuner.can_restore(storage.join(folder, "tune", search_name(variant, options)))


def objective_record(variant: SearchVariant) -> dict[str, list[str]]:
    """What one search optimised, as run.json records it: metric names and directions."""
    metrics = [variant.metric] if isinstance(variant.metric, str) else list(variant.metric)
    modes = [variant.mode] if isinstance(variant.mode, str) else list(variant.mode)
    return {"metric": metrics, "mode": modes}


def trial_settings(variant: SearchVariant, options: RunOptions) -> dict[str, Any]:
    """The fixed part of every trial's config in a search (the sampled params are merged over it).

    A --model run adds `model_config` (the model's Hugging Face config as a dict) for the trials
    that build a model from scratch (base, lab2-*).
    """
    settings = {
        **variant.settings,
        "data": options.data_settings(),
        "train": options.train_settings(),
        "seed": options.seed + variant.repeat,
        "mase_exact": options.mase_exact,
        "verbose": options.verbose,
    }
    if options.model is not None:
        settings["model_config"] = options.sources().model_config
    return settings


def run_variant(
    name: str,
    variant: SearchVariant,
    options: RunOptions,
    folder: str,
    earlier: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One Tune experiment: our study search over the variant's space, one trial per sample.

    Resumes an interrupted search from its trial folders; returns one row per trial (finished,
    failed or stopped early). Raises KeyboardInterrupt when the search stopped before its end.
    `earlier`: the table rows of this search's finished earlier run, which grows to the variant's
    budget: those trials are kept, told to the sampler (the same study goes on), and only the
    rest run; the returned rows are the earlier ones followed by the new ones.
    """
    run_name = search_name(variant, options)
    label = f"{name}/{variant.name}" + (f"#{variant.repeat}" if options.repeats > 1 else "")
    tune_path = storage.join(folder, "tune", run_name)
    # A search the driver left unfinished (Ctrl-C, SIGKILL, a lost head) keeps every trial whose result
    # is on storage, and under sha its batches (search/run/resume.py, halving_resume.py), and runs the rest.
    trial_epochs = variant.early_stopping_epochs if options.scheduler != "fifo" else None
    before = _before(tune_path, variant, options.scheduler, trial_epochs, earlier)
    resumed, done = before.resumed, before.done
    _say_what_continues(label, variant.num_samples, earlier, resumed, len(done), tune_path, before.halving)
    remaining = variant.num_samples - (len(earlier) if earlier is not None else before.kept)
    stopping = early_stopping(options.scheduler, trial_epochs, num_trials=remaining)
    before.keep_state(stopping, tune_path)
    settings = trial_settings(variant, options)
    if stopping.pause_epochs:
        settings[PAUSE_EPOCHS] = stopping.pause_epochs
    base = row_base(name, variant, options, settings)
    kept_rows = before.rows(base, stopping.rungs)
    carried = before.halving.carried if before.halving else ()
    searcher, space = variant_search(name, variant, options, folder, not (resumed or earlier), carried)
    if resumed or earlier:
        objectives = _objectives(variant)
        prime_study(
            searcher.study, done, variant.sampler, space, objectives, variant.constraints, before.stopped
        )
    if remaining <= 0:
        # Every trial had finished before the driver stopped (e.g. the last one during Ctrl-C):
        # nothing to run, but the study may lack the trials that finished after its last write.
        searcher.write_finished_trials()
        before.delete_stopped_snapshots()
        return kept_rows if resumed else list(earlier or [])
    ledger = TrialLedger(label, variant.metric, variant.mode, variant.num_samples)
    tuner = _variant_tuner(name, variant, options, folder, settings, searcher, stopping, ledger, remaining)
    try:
        grid = fit_to_the_end(tuner, variant, remaining, stopping)
    except Exception as error:  # Tune reading back files it could not write (EOFError, UnpicklingError)
        storage.raise_if_full(tune_path, error)
        raise
    # Tune's last snapshot normally wrote them all; this makes the study match the table regardless.
    searcher.write_finished_trials()
    stopped = stopping.stopped
    rows = result_rows(grid, ledger.launch_index, base, stopped, stopping.rungs, ledger.configs)
    # A stopped trial's last checkpoint is the training snapshot it paused with: no model to keep.
    delete_checkpoints(r.checkpoint.path for r in grid if r.checkpoint and _trial_id(r) in stopped)
    before.delete_stopped_snapshots()
    if earlier is not None:
        return _grown(earlier, rows)
    return kept_rows + resumed.renumber(rows, kept_rows) if resumed else rows


def variant_search(
    name: str,
    variant: SearchVariant,
    options: RunOptions,
    folder: str,
    fresh: bool,
    carried: Sequence[tuple[dict[str, Any], dict[str, Any]]] = (),
) -> tuple[StudySearch, Any]:
    """The searcher of one search, over its study in the experiment's database, and its Optuna space.

    A resumed or growing search (`fresh` False) reopens its study and enqueues nothing again.
    """
    from ray.tune.search.optuna import OptunaSearch

    # Tune spaces are converted here (not passed as param_space) so define-by-run functions and
    # dict spaces take one path; OptunaSearch warns about unconverted spaces otherwise.
    space = variant.space if callable(variant.space) else OptunaSearch.convert_search_space(variant.space)
    searcher = StudySearch(
        space=space,
        metric=variant.metric,
        mode=variant.mode,
        sampler=variant.sampler,
        study_name=study_name(name, search_name(variant, options), options.optuna_study_prefix),
        url=storage_url(folder, options.optuna_storage),
        constraints=variant.constraints,
        enqueued=variant.enqueued if fresh else (),
        carried=carried,
    )
    return searcher, space


@dataclass
class _Before:
    """What a search starts from: an interrupted search's trials (and `sha` batches), or a grown one's."""

    resumed: InterruptedSearch | None
    halving: HalvingResume | None
    done: list[FinishedTrial]

    @property
    def kept(self) -> int:
        """Trials that do not run again: the finished ones and the stopped ones a `sha` verdict keeps."""
        return len(self.done) + (len(self.halving.stopped) if self.halving else 0)

    @property
    def stopped(self) -> list[tuple[str, dict[str, Any], float | None]]:
        """The kept stopped trials as prime_study takes them."""
        records = self.halving.stopped if self.halving else []
        return [(r.trial_id, r.params, (r.report or {}).get(PROGRESS_METRIC)) for r in records]

    def keep_state(self, stopping: EarlyStopping, tune_path: str) -> None:
        halving = self.halving
        stopping.keep_state(
            state_location(tune_path),
            halving.state if halving else None,
            halving.carried_ids if halving else (),
        )

    def rows(self, base: dict[str, Any], trial_rungs: list[float]) -> list[dict[str, Any]]:
        """The kept trials' rows: finished, then stopped."""
        finished = self.resumed.rows(base) if self.resumed else []
        return finished + (self.halving.rows(base, trial_rungs) if self.halving else [])

    def delete_stopped_snapshots(self) -> None:
        if self.halving:
            delete_checkpoints(self.halving.stopped_snapshots())


def _before(
    tune_path: str,
    variant: SearchVariant,
    scheduler: str,
    trial_epochs: float | None,
    earlier: list[dict[str, Any]] | None,
) -> _Before:
    """Read what the search's folder holds from a driver that stopped (moving unfinished trials aside)."""
    objectives = _objectives(variant)
    if earlier is not None:
        return _Before(None, None, stored_trials(earlier, objectives))
    batches = read_state(state_location(tune_path)) if keeps_state(scheduler, trial_epochs) else None
    resumed = interrupted_search(tune_path, objectives, kept_folders(batches))
    halving = plan_resume(batches, resumed, tune_path) if batches is not None and resumed else None
    return _Before(resumed, halving, resumed.finished if resumed else [])


def _say_what_continues(
    label: str,
    budget: int,
    earlier: list[dict[str, Any]] | None,
    resumed: Any,
    finished: int,
    tune_path: str,
    halving: HalvingResume | None = None,
) -> None:
    """Print whether this search grows a finished one or resumes an interrupted one (else nothing)."""
    if earlier is not None:
        print(
            f"[{label}] growing the stored search to {budget} trials: its {len(earlier)} "
            f"trials are kept and told to the sampler, {budget - len(earlier)} new ones run",
            flush=True,
        )
    if resumed:
        print(
            f"[{label}] resuming the interrupted search in {tune_path}: {finished} trials finished"
            + (f", unfinished ones moved to {resumed.set_aside}" if resumed.set_aside else "")
            + (
                f"; sha: {len(halving.stopped)} stopped trials kept, {len(halving.carried)} go on from "
                "their rung snapshots"
                if halving
                else ""
            ),
            flush=True,
        )


def _grown(earlier: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The earlier rows, then the new ones: the new Tuner numbers its launches from 0 again."""
    first = max((int(row["trial_index"]) for row in earlier), default=-1) + 1
    for row in rows:
        row["trial_index"] += first
    return list(earlier) + rows


def _variant_tuner(
    name: str,
    variant: SearchVariant,
    options: RunOptions,
    folder: str,
    settings: dict[str, Any],
    searcher: StudySearch,
    stopping: EarlyStopping,
    ledger: TrialLedger,
    num_samples: int,
) -> Any:
    """The Tuner of one search run alone: its own trainable over the variant's trial function."""
    trainable = (variant.tune_adapter or ray_trainable)(
        variant.trial_fn,
        settings,
        _objectives(variant),
        cpus=options.cpus_per_trial,
        gpus=options.gpus_per_trial,
    )
    run_name = search_name(variant, options)
    parts = TunerParts(
        name, run_name, trainable, searcher, num_samples, variant.max_concurrent, variant.reuse_workers
    )
    return make_tuner(parts, options, folder, stopping, ledger)


@dataclass(frozen=True)
class TunerParts:
    """What differs between the Tuners of a run: the search(es) it runs and how."""

    experiment: str
    run_name: str  # its folder under `<experiment>/tune/`
    trainable: Any
    searcher: Any
    num_samples: int
    max_concurrent: int | None
    reuse_workers: bool


def make_tuner(
    parts: TunerParts, options: RunOptions, folder: str, stopping: EarlyStopping, ledger: TrialLedger
) -> Any:
    """The Tune Tuner of one search (or of searches run together): resources, searcher, scheduler."""
    from ray import tune

    # Progress reports during training carry `eval_accuracy`, not the search's metric, which trials
    # report at their end; Tune's per-result check would reject them. fit_to_the_end checks instead.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # Tune's CSV and JSON loggers are named in make_callbacks; its automatic TensorBoard logger
    # imports torch into the driver (tensorboardX does), so it comes only with --callbacks tensorboard.
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    # With `sha`, every trial's checkpoint forces a state snapshot (CheckpointConfig(num_to_keep=1),
    # below), and Tune warns whenever two come within 5 s: with short trials, every run. What would
    # matter, a snapshot that is slow, keeps its own warning (TUNE_WARN_SLOW_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S).
    if not options.verbose:
        os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    trainable = tune.with_resources(
        parts.trainable, {"cpu": options.cpus_per_trial, "gpu": options.gpus_per_trial}
    )
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=parts.searcher,
            num_samples=parts.num_samples,
            max_concurrent_trials=stopping.concurrency(max_concurrent(options, parts.max_concurrent)),
            reuse_actors=parts.reuse_workers,
            scheduler=stopping.scheduler,
        ),
        run_config=tune.RunConfig(
            name=parts.run_name,
            storage_path=storage.join(folder, "tune"),
            failure_config=tune.FailureConfig(max_failures=2),
            checkpoint_config=checkpoint_config(stopping),
            callbacks=[ledger, *make_callbacks(options.callbacks, parts.experiment)],
            verbose=0,
        ),
    )


def checkpoint_config(stopping: EarlyStopping) -> Any:
    """Tune's checkpoint retention: keep the last one only where a trial reports two (`sha`).

    Trials report one model checkpoint, at their end; a trial that `sha` pauses reports a training
    snapshot before it, which is not needed once the final one exists. `num_to_keep` makes Tune
    force an experiment snapshot (every trial's state, the searcher, the study writes) at every
    trial checkpoint, a cost that grows with the trials (docs/scale.md), so it is set only there;
    elsewhere Tune snapshots on its own period.
    """
    from ray import tune

    return tune.CheckpointConfig(num_to_keep=1 if stopping.pause_epochs else None)


def fit_to_the_end(tuner: Any, variant: SearchVariant, expected: int, stopping: EarlyStopping) -> Any:
    """Run the Tuner; raise KeyboardInterrupt if it stopped early (Ctrl-C, SIGTERM) so no table is written.

    Trials report the variant's metric only at their end (progress reports carry other keys), so
    a trial without an error and without that metric never finished, unless the search's
    early-stopping scheduler stopped it (`stopping.stopped`). The stored Tune state lets the same
    command resume.
    """
    grid = fit_or_interrupt(tuner)
    ended = stopping.stopped
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


def row_base(
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
