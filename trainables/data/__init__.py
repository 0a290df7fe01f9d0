"""The data layer: text datasets, tokenizers, a tokenize-once Arrow cache, and fast padded batches.

    spec = DataSpec(dataset="rotten_tomatoes", max_length=128)
    prepared = prepare_data(spec)                 # builds once per node, then a cache hit
    train, test = load_splits(prepared)           # memory-mapped
    for batch in iterate_batches(train, 32, shuffle=True, seed=epoch, pad_token_id=prepared.pad_token_id):
        ...

No Ray and no Optuna here; no call waits on an unreachable hub (see hub_reachable).
"""

from trainables.data.batching import Batch, iterate_batches, num_batches
from trainables.data.datasets import load_text_dataset
from trainables.data.hub import hub_reachable
from trainables.data.prepare import PreparedData, load_splits, prepare_data
from trainables.data.spec import DataSpec
from trainables.data.tokenized_split import TokenizedSplit
from trainables.data.tokenizer import load_tokenizer

__all__ = [
    "Batch",
    "DataSpec",
    "PreparedData",
    "TokenizedSplit",
    "hub_reachable",
    "iterate_batches",
    "load_splits",
    "load_text_dataset",
    "load_tokenizer",
    "num_batches",
    "prepare_data",
]
