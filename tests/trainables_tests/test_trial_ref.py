"""A TrialRef calls the trial it names, pickles as names, and names Tune's trainable after it."""

import pickle

from ray import cloudpickle

from trainables.ray_adapter import ray_trainable
from trainables.trial_ref import TrialRef
from trainables.trials.base import base_trial


def echo_trial(config, ctx):  # a module-level trial function for the ref to find
    return {"seen": config["x"], "ctx": ctx}


def test_the_ref_calls_the_function_it_names():
    ref = TrialRef(__name__, "echo_trial")
    assert ref({"x": 3}, "context") == {"seen": 3, "ctx": "context"}
    assert ref.load() is echo_trial
    assert TrialRef("trainables.trials.base", "base_trial").load() is base_trial


def test_the_ref_pickles_as_its_names_and_names_the_trainable():
    ref = TrialRef("trainables.trials.lab1_qat", "lab1_qat_trial")
    assert pickle.loads(pickle.dumps(ref)) == ref
    assert ref.__name__ == "lab1_qat_trial"
    # What Tune ships to a worker: the wrapped trainable, named after the trial (trial folders are).
    trainable = ray_trainable(ref, {"epochs": 1})
    assert trainable.__name__ == "lab1_qat_trial"
    assert b"lab1_qat_trial" in cloudpickle.dumps(trainable)
