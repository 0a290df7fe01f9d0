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
import json
import math
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# BERT's field names and the projection choices of search/experiments/spaces/nas.py (trainables/models/nas_arch.py has
# them too, but importing it pulls in torch). The FFN's choices apply only when it is square.
SHAPE_FIELDS = ("num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size")
ATTENTION = ("query_proj", "key_proj", "value_proj", "output_proj")
PROJECTIONS = (*ATTENTION, "pooler_proj", "ffn_in_proj", "ffn_out_proj")
VOCAB = 30522
NOISE = 0.01
SURROGATE_FILE = "surrogate.json"  # what a surrogate checkpoint holds


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

    Like a real trial it reports one checkpoint with its final metrics, so that Tune's checkpoint
    handling in the driver is rehearsed too: a folder of one small JSON file (`surrogate.json`:
    the sampled shape and the metrics), not a model. `ctx` needs `new_dir(name)` and
    `report(metrics, checkpoint_dir)`: a TrialContext in a unit test, the reporter below in Tune.
    """
    start = time.perf_counter()
    time.sleep(float(config.get("surrogate_seconds", 2.0)))
    metrics = {
        "accuracy": surrogate_accuracy(config),
        "cost_params": surrogate_params(config),
        "trial_seconds": time.perf_counter() - start,
        "surrogate": True,
    }
    checkpoint = ctx.new_dir("checkpoint")
    shape = {k: config[k] for k in (*SHAPE_FIELDS, *PROJECTIONS) if k in config}
    (checkpoint / SURROGATE_FILE).write_text(json.dumps({"config": shape, "metrics": metrics}))
    ctx.report(metrics, checkpoint)
    return metrics


class _Reporter:
    """What a surrogate trial needs from its context: a work folder, and a report to Tune with the node."""

    def __init__(self, node: str, work_dir: Path) -> None:
        self.node = node
        self.work_dir = work_dir

    def new_dir(self, name: str) -> Path:
        path = self.work_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None = None) -> None:
        from ray import tune

        checkpoint = tune.Checkpoint.from_directory(str(checkpoint_dir)) if checkpoint_dir else None
        tune.report({**metrics, "node": self.node, "device": "surrogate"}, checkpoint=checkpoint)


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

        with tempfile.TemporaryDirectory(prefix="adls-surrogate-") as work:
            trial_fn({**settings, **params}, _Reporter(ray.util.get_node_ip_address(), Path(work)))

    trainable.__name__ = trial_fn.__name__
    return trainable
