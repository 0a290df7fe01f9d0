"""The data layer: text datasets, tokenizers, a tokenize-once Arrow cache, and fast padded batches.

    spec = DataSpec(dataset="rotten_tomatoes", max_length=128)
    prepared = prepare_data(spec)                 # builds once per node, then a cache hit
    train, test = load_splits(prepared)           # memory-mapped
    for batch in iterate_batches(train, 32, shuffle=True, seed=epoch, pad_token_id=prepared.pad_token_id):
        ...

No Ray and no Optuna here; no call waits on an unreachable hub (see hub_reachable).
"""

import importlib
from typing import Any

# Each public name and the module that defines it. Imported on first use (PEP 562), so that
# `trainables.data.hub` and `trainables.data.sources`, which the driver needs, do not pull in
# torch, pandas and tokenizers with the package.
_HOMES = {
    "Batch": "batching",
    "iterate_batches": "batching",
    "num_batches": "batching",
    "load_text_dataset": "datasets",
    "hub_reachable": "hub",
    "PreparedData": "prepare",
    "load_splits": "prepare",
    "prepare_data": "prepare",
    "DataSpec": "spec",
    "TokenizedSplit": "tokenized_split",
    "load_tokenizer": "tokenizer",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = sorted(_HOMES)
