"""The BERT sequence classifier every experiment trains: bert-tiny shape unless a trial says otherwise."""

import logging
from collections.abc import Mapping
from typing import Any

import torch
from transformers import BertConfig, BertForSequenceClassification

from trainables.data.hub import hub_reachable
from trainables.models.bert_attention import ATTENTION

log = logging.getLogger(__name__)

BERT_TINY: dict[str, int] = {
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 512,
}
# The bert-base-uncased vocabulary that prajjwal1/bert-tiny was trained with.
BERT_BASE_VOCAB = 30522


def bert_config(vocab_size: int, num_labels: int, arch: Mapping[str, Any] | None = None) -> BertConfig:
    """A BertConfig of bert-tiny shape with `arch` overriding BERT's own field names.

    `arch` must use BERT's names (`num_hidden_layers`, `num_attention_heads`, ...): Tutorial 5 set
    `num_layers`/`num_heads`, which BertConfig silently ignores, so we refuse unknown keys.
    """
    fields = {**BERT_TINY, **(arch or {})}
    unknown = set(fields) - set(BertConfig().to_dict())
    if unknown:
        raise ValueError(f"unknown BERT config fields {sorted(unknown)}; use BertConfig's own names")
    return BertConfig(
        vocab_size=vocab_size,
        num_labels=num_labels,
        max_position_embeddings=512,
        attn_implementation=ATTENTION,
        **fields,
    )


def build_model(
    vocab_size: int,
    num_labels: int = 2,
    arch: Mapping[str, Any] | None = None,
    pretrained: str | None = None,
    seed: int = 0,
) -> BertForSequenceClassification:
    """Build the classifier: the hub snapshot `pretrained` ("<repo>@<commit>") names, else a seeded init.

    Which one is decided on the driver (trainables.data.sources.resolve_sources), never here: a
    snapshot that cannot be loaded raises OSError instead of quietly becoming a random model. The
    seeded init gives the same model for the same `seed` and leaves the global RNG as it was.
    """
    config = bert_config(vocab_size, num_labels, arch)
    if pretrained:
        return load_pretrained(pretrained, config, seed)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    torch.random.set_rng_state(generator_state)
    return model


def load_pretrained(source: str, config: BertConfig, seed: int = 0) -> BertForSequenceClassification:
    """`from_pretrained` of a "<repo>@<commit>" snapshot, from the local cache when the hub is unreachable.

    A classification head missing from the snapshot (bert-tiny is a pre-training checkpoint) is
    initialised from `seed`. The snapshot's shape must be `config`'s: a vocabulary that differs from
    the tokenizer's would index the wrong embeddings, so it is refused.
    """
    repo_id, _, revision = source.partition("@")
    torch.manual_seed(seed)
    model = BertForSequenceClassification.from_pretrained(
        repo_id,
        revision=revision or None,
        num_labels=config.num_labels,
        attn_implementation=ATTENTION,
        local_files_only=not hub_reachable(),
    )
    for name in ("vocab_size", *BERT_TINY):
        if getattr(model.config, name) != getattr(config, name):
            raise OSError(
                f"{source} has {name}={getattr(model.config, name)}, the run expects {getattr(config, name)}"
            )
    return model


def architecture(model: BertForSequenceClassification) -> dict[str, int]:
    """The shape fields of a built model, read from its modules (not from what was asked for)."""
    encoder = model.bert.encoder
    attention = encoder.layer[0].attention.self
    return {
        "num_hidden_layers": len(encoder.layer),
        "num_attention_heads": attention.num_attention_heads,
        "hidden_size": model.bert.embeddings.word_embeddings.embedding_dim,
        "intermediate_size": encoder.layer[0].intermediate.dense.out_features,
    }
