"""Write many finished Optuna trials into an RDB study in one transaction, a few statements each.

Optuna's `RDBStorage.create_new_trial(template_trial=...)` costs about two SQL round trips per
parameter, attribute and value (what that costs and what this saves: docs/scale.md, "Study
writes"). Here all rows of a batch go through SQLAlchemy's unit of work in one flush per table
(SQLAlchemy 2 sends them as multi-row INSERTs), into Optuna's own tables through the installed
Optuna's own models (optuna/storages/_rdb/models.py), so `optuna.load_study` reads them as it
reads its own. That module is private:
tests/search_tests/study_tests/test_study_bulk_write.py checks every field against Optuna's own writes.

What Optuna's per-trial path checks and this does not: that a parameter's distribution matches the
study's earlier ones. The trials come from one in-memory study, which checked that when it sampled
them, and a study in the database only ever receives one search's trials (check_fresh).
"""

import json
from collections.abc import Sequence

import optuna
from optuna import distributions
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial, TrialState

# Optuna's private table models (optuna/storages/_rdb/models.py), checked with this version;
# tests/search_tests/study_tests/test_study_bulk_write.py compares every field with Optuna's own writes.
CHECKED_WITH = {"optuna": "5.0.0"}

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def write_trials(rdb: optuna.storages.RDBStorage, study_id: int, trials: Sequence[FrozenTrial]) -> None:
    """Append finished `trials` to the study, numbered after its existing ones, in one transaction.

    All or none: an error rolls the whole batch back and is raised (the caller retries it later).
    """
    if not trials:
        return
    unfinished = [t.number for t in trials if t.state not in FINISHED]
    if unfinished:
        raise ValueError(f"only finished trials are written; trials {unfinished} are not")
    session = rdb.scoped_session()
    try:
        # The study row's lock serialises trial numbering with other writers, as Optuna's own
        # trial creation does (for_update: SELECT ... FOR UPDATE where the database supports it).
        study = models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        first = models.TrialModel.count(session, study)
        rows = []
        for offset, trial in enumerate(trials):
            row = models.TrialModel(study_id=study_id, number=first + offset, state=trial.state)
            row.datetime_start = trial.datetime_start
            row.datetime_complete = trial.datetime_complete
            rows.append(row)
        session.add_all(rows)
        session.flush()  # the database assigns the trial ids the child rows refer to
        children: list[models.BaseModel] = []
        for row, trial in zip(rows, trials, strict=True):
            children += _child_rows(row.trial_id, trial)
        session.add_all(children)
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def _child_rows(trial_id: int, trial: FrozenTrial) -> list[models.BaseModel]:
    """The value, parameter, attribute and intermediate-value rows of one trial."""
    rows: list[models.BaseModel] = []
    values = trial.values if trial.values is not None else []
    for objective, value in enumerate(values):
        stored, kind = models.TrialValueModel.value_to_stored_repr(value)
        rows.append(
            models.TrialValueModel(trial_id=trial_id, objective=objective, value=stored, value_type=kind)
        )
    for name, value in trial.params.items():
        distribution = trial.distributions[name]
        rows.append(
            models.TrialParamModel(
                trial_id=trial_id,
                param_name=name,
                param_value=distribution.to_internal_repr(value),
                distribution_json=distributions.distribution_to_json(distribution),
            )
        )
    for model, attrs in (
        (models.TrialUserAttributeModel, trial.user_attrs),
        (models.TrialSystemAttributeModel, trial.system_attrs),
    ):
        rows += [
            model(trial_id=trial_id, key=key, value_json=json.dumps(value)) for key, value in attrs.items()
        ]
    for step, value in trial.intermediate_values.items():
        stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(value)
        rows.append(
            models.TrialIntermediateValueModel(
                trial_id=trial_id, step=step, intermediate_value=stored, intermediate_value_type=kind
            )
        )
    return rows
