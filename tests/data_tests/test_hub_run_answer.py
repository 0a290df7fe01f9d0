"""A run's Ray workers take the driver's answer to "is the hub reachable" instead of probing again."""

import socket

from trainables.data.hub import RUN_ANSWER_ENV, hub_reachable


def _fail_if_called(*args, **kwargs):
    raise AssertionError("the network was probed although the run's answer was given")


def test_the_runs_answer_is_taken_without_probing(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(socket, "getaddrinfo", _fail_if_called)
    for answer, expected in (("1", True), ("0", False)):
        monkeypatch.setenv(RUN_ANSWER_ENV, answer)
        assert hub_reachable() is expected


def test_offline_mode_still_wins_over_the_runs_answer(monkeypatch):
    monkeypatch.setenv(RUN_ANSWER_ENV, "1")
    assert hub_reachable() is False  # HF_HUB_OFFLINE=1 (the data tests' fixture)
