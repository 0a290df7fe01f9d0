"""The progress of a search: one line per change (elapsed, ETA, best and its params), or a bar on a terminal."""

import io
import pickle
import re
from types import SimpleNamespace

from search.run.progress import TrialLedger


def _trial(trial_id, status="RUNNING", **config):
    return SimpleNamespace(trial_id=trial_id, status=status, config=config, last_result={})


def test_last_line_counts_the_completing_trial_and_names_the_best_params(capsys):
    ledger = TrialLedger("lab1-qat/qat", "qat_accuracy", "max", total=2)
    first = _trial("a", "TERMINATED", width=4)
    second = _trial("b", width=8)  # Tune updates the status after the callback
    ledger.on_trial_result(0, [first, second], second, {"qat_accuracy": 0.75})
    second.last_result = {"qat_accuracy": 0.75}
    ledger.on_trial_complete(0, [first, second], second)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"\[lab1-qat/qat\] 2/2 finished \(2 ok, 0 failed\), 0 running, \d+:\d\d elapsed, ETA 0:00, "
        r"best qat_accuracy 0\.7500 \(width=8\)",
        line,
    ), line


def test_an_erroring_trial_counts_as_failed(capsys):
    ledger = TrialLedger("x/y", "accuracy", "max", total=1)
    trial = _trial("a")
    ledger.on_trial_error(0, [trial], trial)
    assert "1/1 finished (0 ok, 1 failed), 0 running," in capsys.readouterr().out


def test_only_changes_print_a_line_and_the_eta_comes_from_finished_trials():
    out = io.StringIO()
    ledger = TrialLedger("e/v", "accuracy", "max", total=4, stream=out)
    ledger.started -= 30  # the Tuner took 30 s to start its first trial (workers, imports)
    a, b = _trial("a", p=1), _trial("b", p=2)
    ledger.on_trial_start(0, [a], a)
    ledger.on_trial_start(0, [a, b], b)
    for _ in range(3):  # intermediate reports that change nothing print nothing
        ledger.on_trial_result(0, [a, b], a, {"accuracy": 0.5})
    # One minute after the first start, one of four trials finished: three more minutes to go,
    # whatever the start-up cost.
    ledger.started -= 60
    ledger.first_start -= 60
    a.last_result = {"accuracy": 0.5}
    ledger.on_trial_complete(0, [a, b], a)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4, lines  # start, start, first best, completion
    assert len(set(lines)) == len(lines)
    assert "best accuracy 0.5000 (p=1)" in lines[2]
    assert "1/4 finished" in lines[3] and "1:30 elapsed, ETA 3:00" in lines[3]


def test_a_terminal_gets_a_bar_instead_of_lines():
    out = io.StringIO()
    ledger = TrialLedger("e/v", "accuracy", "max", total=2, stream=out, bar=True)
    a = _trial("a", p=1)
    ledger.on_trial_start(0, [a], a)
    assert pickle.loads(pickle.dumps(ledger))._bar is None  # Tune pickles callbacks with the Tuner
    a.last_result = {"accuracy": 0.9}
    ledger.on_trial_complete(0, [a], a)
    ledger.on_experiment_end([a])
    text = out.getvalue()
    assert "e/v" in text and "1/2" in text and "best accuracy 0.9000 (p=1)" in text
    assert "finished (" not in text  # no plain lines


def test_a_per_layer_search_shows_its_first_parameters_only():
    out = io.StringIO()
    ledger = TrialLedger("lab3-mixed/tpe", "accuracy", "max", total=1, stream=out)
    trial = _trial("a", **{f"l{i}.width": 8 for i in range(10)})
    trial.last_result = {"accuracy": 0.7}
    ledger.on_trial_complete(0, [trial], trial)
    assert (
        "(l0.width=8, l1.width=8, l2.width=8, l3.width=8, l4.width=8, l5.width=8, +4 more)" in out.getvalue()
    )


def test_counts_stay_exact_as_trials_settle_out_of_order_and_after_a_restore():
    """Settled trials at the list's front are counted once (search/run/progress.py: _SettledPrefix)."""
    ledger = TrialLedger("e/v", "accuracy", "max", total=5, stream=io.StringIO())
    trials = [_trial(k) for k in "abcde"]
    trials[3].status = "PENDING"
    trials[4].status = "PENDING"

    def counts(ending=None) -> str:
        return ledger.status(trials, ending)[0].split(", best")[0]

    assert counts() == "0/5 finished (0 ok, 0 failed), 3 running"
    trials[1].status = "TERMINATED"  # finishes before the first one
    assert counts((trials[0], "ERROR")) == "2/5 finished (1 ok, 1 failed), 1 running"
    trials[0].status = "ERROR"
    trials[2].status = "TERMINATED"
    trials[2].last_result = {"trial_error": "loss is nan"}  # a reported failure counts as failed
    trials[3].status = "RUNNING"
    assert counts() == "3/5 finished (1 ok, 2 failed), 1 running"
    trials[3].status = "PENDING"  # a retried trial leaves RUNNING again
    assert counts() == "3/5 finished (1 ok, 2 failed), 0 running"
    restored = pickle.loads(pickle.dumps(ledger))
    trials = [_trial(k, "TERMINATED") for k in "ab"]  # another run's list: counted afresh
    assert restored.status(trials)[0].startswith("2/5 finished (2 ok, 0 failed), 0 running")
    assert ledger.status(trials)[0].startswith("2/5 finished (2 ok, 0 failed), 0 running")
