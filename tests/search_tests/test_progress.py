"""The one-line progress status counts a trial that is just finishing as finished."""

from types import SimpleNamespace

from search.progress import TrialLedger


def test_last_line_counts_the_completing_trial(capsys):
    ledger = TrialLedger("lab1-qat/qat", "qat_accuracy", "max", total=2, interval=1e9)
    first = SimpleNamespace(trial_id="a", status="TERMINATED")
    second = SimpleNamespace(trial_id="b", status="RUNNING")  # Tune updates the status after the callback
    ledger.on_trial_result(0, [first, second], second, {"qat_accuracy": 0.75})
    ledger.on_trial_complete(0, [first, second], second)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line == "[lab1-qat/qat] 2/2 finished (2 ok, 0 failed), 0 running, best qat_accuracy 0.7500"


def test_an_erroring_trial_counts_as_failed(capsys):
    ledger = TrialLedger("x/y", "accuracy", "max", total=1)
    trial = SimpleNamespace(trial_id="a", status="RUNNING")
    ledger.on_trial_error(0, [trial], trial)
    assert "1/1 finished (0 ok, 1 failed), 0 running, best accuracy -" in capsys.readouterr().out
