"""The Optuna study of every search, kept in a database so Optuna's own tools can open it.

By default each experiment folder holds an SQLite file, `<storage>/<name>/optuna.db`, with one
study per search (variant, and repeat when --repeats > 1) named `<experiment>/<search>`, e.g.
`lab2-nas/tpe`. `--optuna-storage URL` (an SQLAlchemy URL: postgresql://, mysql://, sqlite:///)
puts the studies into a shared database instead, e.g. one PostgreSQL for a whole cluster or class.

Every Optuna trial carries the Tune trial id as its `tune_trial_id` user attribute, the link
between the study and the rows of `trials.parquet`. Only the driver talks to the database (the
searcher runs there), so SQLite is safe for one driver; several drivers need a server database.
"""

import logging
import os
import pickle
import warnings
from typing import Any

import optuna
from ray.tune.result import TRAINING_ITERATION
from ray.tune.search.optuna import OptunaSearch

from errors import ConfigError
from search import storage
from trainables.trial_context import PROGRESS_METRIC

log = logging.getLogger(__name__)

STUDY_FILE = "optuna.db"
TUNE_TRIAL_ID = "tune_trial_id"


def storage_url(experiment_folder: str, optuna_storage: str | None) -> str | None:
    """The study database of an experiment: `optuna_storage` if given, else SQLite in its folder.

    None (studies in memory) when the results live at a URI (s3://, gs://): SQLite needs a local
    file, so such runs pass --optuna-storage to keep their studies.
    """
    if optuna_storage:
        return optuna_storage
    if storage.is_uri(experiment_folder):
        return None
    return f"sqlite:///{storage.join(experiment_folder, STUDY_FILE)}"


def study_name(experiment: str, search: str) -> str:
    """`<experiment>/<search>`: unique per experiment in a shared database, readable in the dashboard."""
    return f"{experiment}/{search}"


def shown_url(url: str | None) -> str:
    """The URL with any password masked, for messages and run.json."""
    if url is None:
        return "memory"
    try:
        import sqlalchemy

        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is reported by open_storage
        return url.split("@")[-1]


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna RDB storage at `url`; ConfigError in one line when it cannot be opened."""
    if url.startswith("sqlite:///"):
        # SQLite creates the file, not its folder (the experiment folder may not exist yet).
        folder = os.path.dirname(url[len("sqlite:///") :])
        if folder:
            os.makedirs(folder, exist_ok=True)
    try:
        # pool_pre_ping: a server database may close idle connections during a long trial.
        kwargs: dict[str, Any] = {} if url.startswith("sqlite") else {"pool_pre_ping": True}
        if url.startswith("postgresql"):
            # Our sessions only: a commit stops waiting for the server's WAL flush (7.8 -> 0.5 ms
            # on this machine, ~15 commits a trial). "There is no risk of database inconsistency";
            # a server crash may lose the last commits (postgresql.org/docs/current/wal-async-commit.html).
            kwargs["connect_args"] = {"options": "-c synchronous_commit=off"}
        rdb = optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        if url.startswith("sqlite"):
            _fast_sqlite(rdb)
        return rdb
    except ImportError as error:
        raise ConfigError(
            f"--optuna-storage {shown_url(url)!r} needs a database driver: {error}; for PostgreSQL "
            "install the [postgres] extra (psycopg 3)"
        ) from None
    except Exception as error:  # noqa: BLE001 - SQLAlchemy raises many kinds; the user needs one line
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"--optuna-storage {shown_url(url)!r} cannot be opened: {first}") from None


def _fast_sqlite(rdb: optuna.storages.RDBStorage) -> None:
    """synchronous=OFF on every connection: SQLite commits stop waiting for the disk.

    Optuna commits ~15 times per trial (trial, each parameter, attributes, value); with SQLite's
    default synchronous=FULL each commit is an fsync: ~250 ms per trial on this busy disk, 55 ms
    without (bench/bench_scale.py). "If the application running SQLite crashes, the data will be
    safe", only an OS crash or power loss may damage the file
    (https://www.sqlite.org/pragma.html#pragma_synchronous); the study mirrors trials.parquet and
    Tune's state, which stay the record. The rollback journal is kept (no WAL): WAL needs shared
    memory, which a results folder on NFS does not give (https://www.sqlite.org/wal.html).
    """
    import sqlalchemy

    def on_connect(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    sqlalchemy.event.listen(rdb.engine, "connect", on_connect)
    rdb.engine.dispose()  # the connection that created the tables predates the listener


def check_fresh(url: str | None, name: str) -> None:
    """Refuse to start a new search in a study that already holds trials (an earlier run's).

    Appending would mix two runs in one study. SQLite files move aside with their results folder,
    so this only happens with a shared --optuna-storage.
    """
    if url is None:
        return
    existing = optuna.study.get_all_study_names(storage=open_storage(url))
    if name not in existing:
        return
    trials = optuna.load_study(study_name=name, storage=open_storage(url)).get_trials(deepcopy=False)
    if trials:
        raise ConfigError(
            f"study {name!r} in {shown_url(url)} already holds {len(trials)} trials of an earlier run; "
            f"delete it (optuna delete-study --study-name '{name}' --storage URL) or use another "
            "--optuna-storage"
        )


class StudySearch(OptunaSearch):
    """OptunaSearch whose study lives at a database URL and survives the driver.

    Differences from OptunaSearch: the study is opened from `url` (not pickled with Tune's state:
    a resumed run reopens the same study); every Optuna trial records its Tune trial id; trials
    the study still shows as running but Tune no longer knows (asked just before the driver died)
    are marked failed when the search continues, so the study's finished trials are Tune's.
    """

    def __init__(self, *args: Any, url: str | None, **kwargs: Any) -> None:
        self._url = url
        self._stale_checked = False
        self._told_before: dict[str, int] = {}
        storage_ = open_storage(url) if url else None
        super().__init__(*args, storage=storage_, **kwargs)
        if self._ot_study is not None:
            _name_objectives(self._ot_study, self._metric)

    def suggest(self, trial_id: str) -> dict | None:
        if not self._stale_checked:
            self._fail_stale_trials()
        new = trial_id not in self._ot_trials
        params = super().suggest(trial_id)
        if new and trial_id in self._ot_trials:
            self._ot_trials[trial_id].set_user_attr(TUNE_TRIAL_ID, trial_id)
        return params

    def _fail_stale_trials(self) -> None:
        self._stale_checked = True
        if self._ot_study is None or self._url is None:
            return
        known = {trial.number for trial in self._ot_trials.values()}
        running = self._ot_study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        for trial in running:
            if trial.number not in known:
                self._ot_study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
                log.info("study trial %d was running when the driver stopped: marked failed", trial.number)

    # Tune pickles the searcher into tuner.pkl and its checkpoints; a study in a database (a
    # connection) stays out of both and is reopened from the URL. In memory it is pickled, as before.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_stale_checked"] = False
        if self._url is None:
            return state
        state["_storage"] = None
        state["_ot_study"] = None
        state["_ot_trials"] = {
            **self._told_before,
            **{tune_id: trial.number for tune_id, trial in self._ot_trials.items()},
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._url is None or not self._space:
            return
        numbers: dict[str, int] = self._ot_trials
        self._storage = open_storage(self._url)
        self._setup_study(self._mode)  # create_study(load_if_exists=True): the same study
        running = {
            trial.number: trial
            for trial in self._ot_study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        }
        # Only trials Tune may still report on need a live Trial (finished ones are never told
        # again); built as Optuna's Study.ask does (Trial(study, trial_id)).
        self._ot_trials = {
            tune_id: optuna.trial.Trial(self._ot_study, running[number]._trial_id)
            for tune_id, number in numbers.items()
            if number in running
        }
        # Finished in the study after Tune's last snapshot: the study keeps the value it has.
        self._told_before = {tune_id: number for tune_id, number in numbers.items() if number not in running}

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._told_before:
            return
        if isinstance(self.metric, list) or self.metric in result:
            super().on_trial_result(trial_id, result)
            return
        # A progress report during training (trainables/trial_steps.py: train_model), without the
        # objective, which trials report at their end (OptunaSearch would fail reading it). Its
        # eval_accuracy becomes an intermediate value of the Optuna trial, so that a trial an
        # early-stopping scheduler ends (told to Optuna as PRUNED: no final value) is ranked by
        # how far it got and how well it did there. Every objective of ours is maximised.
        trial = self._ot_trials.get(trial_id)
        if trial is not None and PROGRESS_METRIC in result and self.mode == "max":
            trial.report(float(result[PROGRESS_METRIC]), int(result[TRAINING_ITERATION]))

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id in self._told_before:
            self._completed_trials.add(trial_id)
            return
        super().on_trial_complete(trial_id, result, error)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.__getstate__(), handle)

    def restore(self, checkpoint_path: str) -> None:
        # Tune's own searcher checkpoint, written by save() above in this run's folder.
        with open(checkpoint_path, "rb") as handle:
            self.__setstate__(pickle.load(handle))


def _name_objectives(study: optuna.Study, metric: str | list[str] | None) -> None:
    """Give the study's objectives our metric names, shown by optuna-dashboard and plots."""
    if metric is None:
        return
    names = [metric] if isinstance(metric, str) else list(metric)
    if study.metric_names == names:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(names)
