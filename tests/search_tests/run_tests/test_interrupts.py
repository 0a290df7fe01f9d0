"""A Ctrl-C that reaches Tune during fit() stops the run, even when every trial had already finished."""

import gc
import os
import signal
import threading
import time

import pytest
from ray import tune

from search.run.interrupts import fit_or_interrupt


def _tuner(tmp_path, trainable) -> tune.Tuner:
    return tune.Tuner(
        trainable,
        param_space={"x": tune.grid_search([1, 2])},
        tune_config=tune.TuneConfig(max_concurrent_trials=1),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="interrupts", verbose=0),
    )


def _report(config: dict) -> None:
    tune.report({"y": config["x"]})


def test_a_plain_fit_returns_and_puts_the_handler_back(ray_session, tmp_path):
    def handler(signum, frame):
        raise AssertionError("not called")

    signal.signal(signal.SIGINT, handler)
    try:
        grid = fit_or_interrupt(_tuner(tmp_path, _report))
        assert sorted(r.metrics["y"] for r in grid) == [1, 2]
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_a_sigint_during_fit_raises_whenever_it_arrives(ray_session, tmp_path):
    driver = os.getpid()

    def interrupt_after_the_last_trial(config: dict) -> None:
        tune.report({"y": config["x"]})
        # The last trial signals as it ends: Tune's loop may or may not see it before it exits.
        if config["x"] == 2:
            os.kill(driver, signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        fit_or_interrupt(_tuner(tmp_path, interrupt_after_the_last_trial))
    assert signal.getsignal(signal.SIGINT) is before


def test_a_ctrl_c_in_the_middle_of_a_search_stops_its_running_trials(ray_session, tmp_path):
    beat = tmp_path / "beat"

    def beating(config: dict) -> None:
        for step in range(600):  # a minute, unless stopped
            beat.write_text(str(time.monotonic()))
            tune.report({"y": step})
            time.sleep(0.1)

    def interrupt_once_running() -> None:
        deadline = time.monotonic() + 120
        while not beat.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_running, daemon=True).start()
    interrupted = False
    try:
        fit_or_interrupt(_tuner(tmp_path, beating))
    except KeyboardInterrupt:
        interrupted = True
    gc.collect()  # nothing of the interrupted search is kept alive by a reference here
    assert interrupted
    last = beat.read_text()
    time.sleep(3.0)
    assert beat.read_text() == last, "the interrupted search's trial is still running"
