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
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import TrialState
from ray.tune.result import TRAINING_ITERATION
from ray.tune.search.optuna import OptunaSearch
from ray.tune.utils import flatten_dict

from errors import ConfigError
from search import storage
from search.study.bulk_write import write_trials
from search.study.constraints import Constraint, constraint_values
from trainables.trial_keys import CARRIED_TRIAL, PROGRESS_METRIC

# Private OptunaSearch state this module reads (`_ot_study`, `_ot_trials`, `_study_name`, `_metric`)
# and its pickling of `__dict__`, checked with these versions; tests/search_tests/test_private_internals.py
# fails on a version where they are gone.
CHECKED_WITH = {"ray": "2.60.0", "optuna": "5.0.0"}

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


def study_name(experiment: str, search: str, prefix: str | None = None) -> str:
    """`[<prefix>/]<experiment>/<search>`: readable in the dashboard; in a database shared by
    several people or runs, `prefix` (--optuna-study-prefix, e.g. a user name) keeps them apart."""
    return "/".join(part for part in (prefix, experiment, search) if part)


def shown_url(url: str | None) -> str:
    """The URL with any password masked, for messages and run.json."""
    if url is None:
        return "memory"
    try:
        import sqlalchemy

        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is reported by open_storage
        return url.split("@")[-1]


def open_storage(url: str) -> optuna.storages.RDBStorage:
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
        if url.startswith("sqlite:///") and "not a database" in first:
            # The experiment's own study file (damaged, or another file put in its place).
            path = url[len("sqlite:///") :]
            raise ConfigError(
                f"{path} is not an SQLite database ({first}); move it aside (mv {path} {path}.broken) and "
                "run again: the finished trials are kept and told to a new study"
            ) from None
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
    """OptunaSearch that copies its study into a database at every Tune experiment snapshot.

    The sampler works on OptunaSearch's in-memory study (fast: a database round trip per
    parameter would cost ~50-250 ms a trial, bench/bench_scale.py), pickled with Tune's state as
    upstream does. `save()` -- Tune calls it at each experiment snapshot (every >= 10 s, Tune's
    TUNE_GLOBAL_CHECKPOINT_S; 'auto' aims at ~5% of the run) and at the end -- first writes the
    trials that finished since into the database study, all in one transaction. So the database
    holds exactly the finished trials of Tune's last snapshot: a driver killed at any moment and
    resumed from that snapshot re-runs what the database lacks and never duplicates what it has
    (trials are matched by their `tune_trial_id`). Running trials are not in the database.
    A database that cannot be reached is retried at the next snapshot; the search goes on.

    `enqueued` points are the study's first trials (Optuna's `enqueue_trial`). `carried` pairs
    (params, marker) are handed out before anything else, each with the same params and the marker
    as its CARRIED_TRIAL key: trials that continue a dead driver's (search/run/halving_resume.py).
    With `constraints` (search.constraints), each finished trial's constraint values are set on
    it with Optuna's `Trial.set_constraint` before the study is told: stored with the trial,
    read by TPE's and NSGA-II's constrained sampling.
    """

    def __init__(
        self,
        *args: Any,
        url: str | None,
        constraints: Sequence[Constraint] = (),
        enqueued: Sequence[dict[str, Any]] = (),
        carried: Sequence[tuple[dict[str, Any], dict[str, Any]]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._url = url
        self._carried = list(carried)
        self._constraints = tuple(constraints)
        for point in enqueued:  # the first trials asked for get these parameters, in this order
            self._ot_study.enqueue_trial(point)
        self._db: optuna.storages.RDBStorage | None = None
        self._in_db: set[str] | None = None  # Tune trial ids already in the database (None: not read yet)
        if url and self._ot_study is not None:
            directions = self._ot_study.directions
            study = optuna.create_study(
                storage=self._database(),
                study_name=self._study_name,
                directions=directions,
                load_if_exists=True,
            )
            _name_objectives(study, self._metric)

    @property
    def study(self) -> optuna.Study:
        """The in-memory Optuna study the sampler works on (OptunaSearch's private `_ot_study`)."""
        return self._ot_study

    def suggest(self, trial_id: str) -> dict | None:
        new = trial_id not in self._ot_trials
        carried = self._carried.pop(0) if new and self._carried else None
        if carried is not None:  # its params, enqueued now: the next ask takes them
            self._ot_study.enqueue_trial(flatten_dict(carried[0], delimiter="/"))
        params = super().suggest(trial_id)
        if new and trial_id in self._ot_trials:
            self._ot_trials[trial_id].set_user_attr(TUNE_TRIAL_ID, trial_id)
        if carried is not None and isinstance(params, dict):
            params[CARRIED_TRIAL] = carried[1]
        return params

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        trial = self._ot_trials.get(trial_id)
        if self._constraints and result and trial is not None and trial_id not in self._completed_trials:
            for key, value in (constraint_values(self._constraints, result) or {}).items():
                trial.set_constraint(key, value)
        super().on_trial_complete(trial_id, result, error)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
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

    def save(self, checkpoint_path: str) -> None:
        self.write_finished_trials()
        # OptunaSearch.save pickles __dict__ as is; this leaves the connection out. Its restore reads it.
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.__getstate__(), handle)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_db"] = None  # a connection; reopened from the URL
        return state

    def restore(self, checkpoint_path: str) -> None:
        super().restore(checkpoint_path)
        self._db = None
        self._in_db = None  # read again: the database may hold more than this snapshot recorded

    def write_finished_trials(self) -> int:
        """Write the finished trials the database lacks; returns how many were written."""
        if not self._url or self._ot_study is None:
            return 0
        finished = self._ot_study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        )
        try:
            database = self._database()
            study_id = database.get_study_id_from_name(self._study_name)
            if self._in_db is None:
                self._in_db = {
                    t.user_attrs.get(TUNE_TRIAL_ID) for t in database.get_all_trials(study_id, deepcopy=False)
                }
            new = [t for t in finished if t.user_attrs.get(TUNE_TRIAL_ID) not in self._in_db]
            # One transaction for the whole snapshot (search/study/bulk_write.py): ~2-7 ms a trial
            # here, against ~30 ms (idle) to ~250 ms (loaded) through Optuna's per-trial path.
            write_trials(database, study_id, new)
            self._in_db.update(t.user_attrs.get(TUNE_TRIAL_ID) for t in new)
            return len(new)
        except Exception as error:  # noqa: BLE001 - a database outage must not end the search
            log.warning(
                "Optuna study %s not updated (%s); retrying at the next snapshot", self._study_name, error
            )
            self._db = None
            return 0

    def _database(self) -> optuna.storages.RDBStorage:
        if self._db is None:
            self._db = open_storage(self._url)
        return self._db


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
