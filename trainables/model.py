"""The BERT sequence classifier every experiment trains: bert-tiny shape unless a trial says otherwise."""

import logging
from collections.abc import Mapping
from typing import Any

import torch
from transformers import BertConfig, BertForSequenceClassification

from trainables.data.hub import hub_reachable

log = logging.getLogger(__name__)

PRETRAINED_NAME = "prajjwal1/bert-tiny"
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
        attn_implementation="sdpa",
        **fields,
    )


def build_model(
    vocab_size: int,
    num_labels: int = 2,
    arch: Mapping[str, Any] | None = None,
    pretrained: bool = True,
    seed: int = 0,
) -> BertForSequenceClassification:
    """Build the classifier: bert-tiny weights from the hub when possible, else a seeded random init.

    Pretrained weights are used only for the default shape with the bert-base-uncased vocabulary
    and a reachable hub; every other case (offline, a NAS architecture, a trained WordPiece
    vocabulary) is initialised from `seed`, so the same call gives the same model.
    """
    config = bert_config(vocab_size, num_labels, arch)
    default_shape = all(getattr(config, k) == v for k, v in BERT_TINY.items())
    if pretrained and default_shape and vocab_size == BERT_BASE_VOCAB and hub_reachable():
        try:
            torch.manual_seed(seed)  # the classifier head is still freshly initialised
            return BertForSequenceClassification.from_pretrained(
                PRETRAINED_NAME, num_labels=num_labels, attn_implementation="sdpa"
            )
        except OSError as error:  # hub answered but the download failed: fall back, loudly
            log.warning("could not load %s (%s); using a seeded random init", PRETRAINED_NAME, error)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    torch.random.set_rng_state(generator_state)
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
