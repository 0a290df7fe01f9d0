"""The private Ray Tune and Optuna internals we rely on: fenced into a few modules, and still there.

Private names are used only in search/study/ (OptunaSearch's and GridSampler's state, Optuna's
table models), search/schedulers/, search/run/interrupts.py (Tune's SIGINT handling),
trainables/ray_warm_worker.py (Ray's streaming-generator backpressure option, the variables Tune
gives its actors), cluster/config.py (`ray up`'s config checks) and search/ray_session/start.py
(the processes a private Ray started); each of those modules names the versions it was checked
with (`CHECKED_WITH`). These tests fail loudly, naming the assumption and the checked versions, on an installed Ray or Optuna where one no longer holds.
"""

import importlib
import importlib.util
import re
import signal
from importlib.metadata import version
from pathlib import Path

import optuna
import pytest
from ray.tune.search.optuna import OptunaSearch

from cluster import config
from search.ray_session import start
from search.run import interrupts, quiet
from search.study import bulk_write, database, samplers
from search.study.samplers import TuneGridSampler
from trainables import ray_warm_worker
from trainables.ray_adapter import CHECKPOINT_LOGGERS

ROOT = Path(__file__).resolve().parents[2]
FENCED = (
    "search/study/",
    "search/schedulers/",
    "search/run/interrupts.py",
    "trainables/ray_warm_worker.py",
    "cluster/config.py",
    "search/ray_session/start.py",
)
# A private name of Ray or Optuna: an import from a private module, OptunaSearch's / a study's state,
# or a private option of Ray's remote functions.
PRIVATE = re.compile(
    r"(from|import) (ray|optuna)\S*\._[a-z]|\._ot_|\bstudy\._|\._study_id\b|\._all_grids\b|\b_generator_\w+"
)


def _checked(module) -> str:
    installed = {name: version(name) for name in module.CHECKED_WITH}
    return f"{module.__name__} was checked with {module.CHECKED_WITH}; installed: {installed}"


def test_private_names_are_used_only_in_the_fenced_modules():
    outside = []
    for top in ("adls", "search", "trainables", "analysis", "cluster"):
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(FENCED):
                continue
            outside += [
                f"{relative}: {line.strip()}"
                for line in path.read_text().splitlines()
                if PRIVATE.search(line)
            ]
    assert outside == []


def test_optuna_search_keeps_its_study_trials_name_and_metric_where_study_search_reads_them():
    search = OptunaSearch(
        space={"x": optuna.distributions.FloatDistribution(0, 1)}, metric="accuracy", mode="max"
    )
    for name in ("_ot_study", "_ot_trials", "_study_name", "_metric"):
        assert hasattr(search, name), f"OptunaSearch.{name} is gone; {_checked(database)}"
    assert isinstance(search._ot_study, optuna.Study), _checked(database)


def test_grid_sampler_and_study_keep_the_state_tune_grid_sampler_reads():
    sampler = TuneGridSampler({"x": [1, 2]}, seed=0)
    for name in ("_all_grids", "_search_space", "_param_names", "_same_search_space"):
        assert hasattr(sampler, name), f"GridSampler.{name} is gone; {_checked(samplers)}"
    study = optuna.create_study(sampler=sampler)
    trial = study.ask()
    assert hasattr(study, "_storage") and hasattr(study, "_study_id"), _checked(samplers)
    assert hasattr(trial, "_trial_id"), _checked(samplers)
    point = sampler.visited_attrs({"x": 1})["grid_id"]
    assert sampler._all_grids[point] == (1,), _checked(samplers)


def test_optunas_table_models_are_where_bulk_write_imports_them():
    models = importlib.import_module("optuna.storages._rdb.models")
    for name in (
        "StudyModel",
        "TrialModel",
        "TrialValueModel",
        "TrialParamModel",
        "TrialIntermediateValueModel",
    ):
        assert hasattr(models, name), f"optuna's {name} is gone; {_checked(bulk_write)}"


def test_tune_still_catches_sigint_where_fit_or_interrupt_expects_it():
    tune_module = importlib.import_module("ray.tune.tune")
    assert callable(getattr(tune_module, "_setup_signal_catching", None)), _checked(interrupts)
    # fit_or_interrupt's sentinel works because Tune's handler puts back the handler it found when it
    # fires, and only then: after a fire, ours is in place again and Tune's event is set.
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGUSR1)}

    def ours(signum, frame):
        raise AssertionError("not called")

    try:
        signal.signal(signal.SIGINT, ours)
        event = tune_module._setup_signal_catching()
        tunes = signal.getsignal(signal.SIGINT)
        assert tunes is not ours and not event.is_set(), _checked(interrupts)
        tunes(signal.SIGINT, None)
        assert event.is_set() and signal.getsignal(signal.SIGINT) is ours, _checked(interrupts)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_ray_still_takes_the_streaming_backpressure_option_the_warm_worker_passes():
    import ray

    def body():
        yield 1

    option = {ray_warm_worker.BACKPRESSURE_OPTION: 1}
    try:
        ray.remote(body).options(num_returns="streaming", **option)
    except (TypeError, ValueError) as error:
        pytest.fail(f"Ray no longer takes {option}: {error}; {_checked(ray_warm_worker)}")
    with pytest.raises((TypeError, ValueError)):  # Ray refuses an option it does not know
        ray.remote(body).options(num_returns="streaming", _no_such_option_here=1)


def test_tune_still_names_the_variables_it_gives_trial_actors_where_the_warm_up_reads_them():
    try:
        env = ray_warm_worker.trial_actor_env()
    except ImportError as error:
        pytest.fail(f"Tune's actor variables moved: {error}; {_checked(ray_warm_worker)}")
    assert env["env_vars"]["PL_DISABLE_FORK"] == "1", _checked(ray_warm_worker)
    # That they are still what Tune's actors get is tested end to end in test_warm_workers.py.


def test_a_private_ray_still_lists_its_autoscaler_monitor_where_stop_ray_kills_it(ray_session):
    from ray._private import ray_constants, worker

    processes = getattr(getattr(worker, "_global_node", None), "all_processes", None) or {}
    monitors = processes.get(ray_constants.PROCESS_TYPE_MONITOR, [])
    assert len(monitors) == 1 and monitors[0].process.poll() is None, (
        f"no live monitor in Ray's process list {sorted(processes)}; {_checked(start)}"
    )


def test_ray_ups_config_checks_are_where_cluster_config_imports_them():
    util = importlib.import_module("ray.autoscaler._private.util")
    assert callable(getattr(util, "prepare_config", None)), _checked(config)
    assert callable(getattr(util, "validate_config", None)), _checked(config)


@pytest.mark.parametrize("logger", [quiet.TOKEN_SETUP_LOGGER, *CHECKPOINT_LOGGERS])
def test_the_private_loggers_we_silence_still_exist(logger):
    # Their messages are silenced by logger name (search/run/quiet.py, trainables/ray_adapter.py).
    assert importlib.util.find_spec(logger) is not None, f"the logger {logger} is gone"
