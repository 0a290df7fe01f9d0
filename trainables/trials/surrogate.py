"""A rehearsal stand-in for the Lab 2 NAS trial: a score from the sampled shape, then a sleep.

Used by `adls run lab2-nas --trial surrogate` and bench/bench_scale.py to rehearse a search of
hundreds of trials on a cluster that is not there (nodes may advertise GPUs they do not have):
everything but the trial (Tuner, the Optuna study, resources, ledger, table, figures, resume) is
the production path. Never the default, and its results are never reused as real ones (the run
identity records the trial kind). No torch: a rehearsal worker should cost what Ray costs.

The score is deterministic in the architecture (bigger trains better, with diminishing returns;
each identity projection costs a little) plus Gaussian noise seeded by (seed, architecture), so
TPE has a landscape to learn and a rerun gives the same table.
"""

import hashlib
import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

# BERT's field names and the projection choices of search/experiments/spaces/nas.py (trainables/models/nas_arch.py has
# them too, but importing it pulls in torch). The FFN's choices apply only when it is square.
SHAPE_FIELDS = ("num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size")
ATTENTION = ("query_proj", "key_proj", "value_proj", "output_proj")
PROJECTIONS = (*ATTENTION, "pooler_proj", "ffn_in_proj", "ffn_out_proj")
VOCAB = 30522
NOISE = 0.01


def identity_projections(config: dict[str, Any]) -> list[str]:
    """The projection parameters that are Identity in the built model (FFN ones only when square)."""
    square_ffn = int(config["intermediate_size"]) == int(config["hidden_size"])
    return [
        p
        for p in PROJECTIONS
        if config.get(p, "linear") == "identity" and (square_ffn or p not in ("ffn_in_proj", "ffn_out_proj"))
    ]


def surrogate_params(config: dict[str, Any]) -> int:
    """Parameters of the BERT classifier of the shape in `config` (a 30,522-token vocabulary)."""
    layers, hidden, inter = (
        int(config[f]) for f in ("num_hidden_layers", "hidden_size", "intermediate_size")
    )
    identity = set(identity_projections(config))
    attention = sum(p not in identity for p in ATTENTION) * (hidden * hidden + hidden)
    ffn = (hidden * inter + inter) * ("ffn_in_proj" not in identity) + (inter * hidden + hidden) * (
        "ffn_out_proj" not in identity
    )
    per_layer = attention + ffn + 4 * hidden  # + two LayerNorms
    embeddings = (VOCAB + 512 + 2) * hidden + 2 * hidden  # words, positions, token types, LayerNorm
    pooler = (hidden * hidden + hidden) * ("pooler_proj" not in identity)
    return embeddings + layers * per_layer + pooler + (2 * hidden + 2)  # + classifier


def surrogate_accuracy(config: dict[str, Any]) -> float:
    """A plausible accuracy in [0.5, 0.9] for the shape in `config`, with seeded noise."""
    params = surrogate_params(config)
    identity = len(identity_projections(config))
    heads_fit = 1.0 - 0.02 * abs(
        math.log2(int(config["hidden_size"]) // int(config["num_attention_heads"]) / 64)
    )
    clean = 0.5 + 0.35 * (1 - math.exp(-params / 8e6)) * heads_fit - 0.015 * identity
    key = repr(
        (int(config.get("seed", 0)), sorted((k, config.get(k)) for k in (*SHAPE_FIELDS, *PROJECTIONS)))
    )
    noise = random.Random(hashlib.sha256(key.encode()).hexdigest()).gauss(0.0, NOISE)
    return min(0.9, max(0.5, clean + noise))


def surrogate_nas_trial(config: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Sleep `surrogate_seconds`, then report `accuracy`, `cost_params` and `trial_seconds`.

    `ctx` needs only `report(metrics)`: a TrialContext in a unit test, the reporter below in Tune.
    """
    start = time.perf_counter()
    time.sleep(float(config.get("surrogate_seconds", 2.0)))
    metrics = {
        "accuracy": surrogate_accuracy(config),
        "cost_params": surrogate_params(config),
        "trial_seconds": time.perf_counter() - start,
        "surrogate": True,
    }
    ctx.report(metrics)
    return metrics


class _Reporter:
    """The one thing a surrogate trial needs from its context: report to Tune, with the node."""

    def __init__(self, node: str) -> None:
        self.node = node

    def report(self, metrics: dict[str, Any], checkpoint_dir: Any = None) -> None:
        from ray import tune

        tune.report({**metrics, "node": self.node, "device": "surrogate"})


def surrogate_trainable(
    trial_fn: Callable[[dict[str, Any], Any], dict[str, Any]],
    settings: dict[str, Any],
    objectives: Sequence[str] = (),
    cpus: int = 1,
    gpus: float = 0.0,
) -> Callable[[dict[str, Any]], None]:
    """The Tune trainable of a surrogate trial: ray_adapter's contract without torch or a work folder.

    `cpus` and `gpus` are part of that contract; a surrogate trial computes no model, so it uses neither.
    """

    def trainable(params: dict[str, Any]) -> None:
        import ray

        trial_fn({**settings, **params}, _Reporter(ray.util.get_node_ip_address()))

    trainable.__name__ = trial_fn.__name__
    return trainable
