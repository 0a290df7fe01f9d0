"""A snapshot's trials written in one transaction read back as Optuna's own per-trial writes do."""

import math

import optuna
import pytest
from optuna.trial import TrialState

from search.study.bulk_write import write_trials
from search.study.database import open_storage


def in_memory_trials(directions: list[str]) -> list[optuna.trial.FrozenTrial]:
    """Finished trials of every kind our searches produce: complete, pruned with progress, failed."""
    study = optuna.create_study(directions=directions, sampler=optuna.samplers.RandomSampler(seed=1))
    for i in range(6):
        trial = study.ask()
        trial.suggest_categorical("hidden_size", [128, 256, 512])
        trial.suggest_float("lr", 1e-5, 1e-2, log=True)
        trial.suggest_int("layers", 1, 8)
        trial.set_user_attr("tune_trial_id", f"t{i}")
        trial.storage.set_trial_system_attr(trial._trial_id, "grid_id", i)
        if i == 3 and len(directions) == 1:  # Optuna reports progress of single-objective trials only
            trial.report(0.25, 1)
            trial.report(float("nan"), 2)
            study.tell(trial, state=TrialState.PRUNED)
        elif i == 4:
            study.tell(trial, state=TrialState.FAIL)
        else:
            values = [i / 10, math.inf if i == 5 else -i][: len(directions)]
            study.tell(trial, values if len(directions) > 1 else values[0])
    return study.get_trials(deepcopy=False)


def same(a: optuna.trial.FrozenTrial, b: optuna.trial.FrozenTrial) -> None:
    assert (a.state, a.values, a.params, a.distributions) == (b.state, b.values, b.params, b.distributions)
    assert (a.user_attrs, a.system_attrs) == (b.user_attrs, b.system_attrs)
    assert a.intermediate_values.keys() == b.intermediate_values.keys()
    for step, value in a.intermediate_values.items():
        assert value == b.intermediate_values[step] or (
            math.isnan(value) and math.isnan(b.intermediate_values[step])
        )
    assert (a.datetime_start, a.datetime_complete) == (b.datetime_start, b.datetime_complete)


@pytest.mark.parametrize("directions", [["maximize"], ["maximize", "minimize"]])
def test_batches_read_back_like_optunas_own_writes_and_number_after_existing_trials(tmp_path, directions):
    trials = in_memory_trials(directions)
    url = f"sqlite:///{tmp_path}/optuna.db"
    rdb = open_storage(url)
    ours = optuna.create_study(storage=rdb, study_name="ours", directions=directions)
    theirs = optuna.create_study(storage=rdb, study_name="theirs", directions=directions)
    write_trials(rdb, ours._study_id, trials[:2])  # two snapshots: the second numbers after the first
    write_trials(rdb, ours._study_id, trials[2:])
    write_trials(rdb, ours._study_id, [])
    for trial in trials:
        rdb.create_new_trial(theirs._study_id, template_trial=trial)

    back = optuna.load_study(study_name="ours", storage=url).get_trials()
    reference = optuna.load_study(study_name="theirs", storage=url).get_trials()
    assert [t.number for t in back] == list(range(len(trials)))
    assert [t.state for t in back].count(TrialState.FAIL) == 1
    assert [t.state for t in back].count(TrialState.PRUNED) == (len(directions) == 1)
    for ours_trial, their_trial, original in zip(back, reference, trials, strict=True):
        same(ours_trial, their_trial)
        same(ours_trial, original)


def test_a_failing_batch_writes_nothing(tmp_path):
    trials = in_memory_trials(["maximize"])
    url = f"sqlite:///{tmp_path}/optuna.db"
    rdb = open_storage(url)
    study = optuna.create_study(storage=rdb, study_name="s", direction="maximize")
    unserialisable = trials[5]
    unserialisable.user_attrs["bad"] = object()  # json.dumps fails after the trial rows were flushed
    with pytest.raises(TypeError):
        write_trials(rdb, study._study_id, trials)
    assert optuna.load_study(study_name="s", storage=url).get_trials() == []
    del unserialisable.user_attrs["bad"]
    with pytest.raises(ValueError, match="only finished trials"):
        write_trials(rdb, study._study_id, [*trials, optuna.trial.create_trial(state=TrialState.RUNNING)])
