"""The sequence classifier every experiment trains: bert-tiny shape unless the run brings its own model.

`model_config` (a Hugging Face config as a dict, from `--model`) switches from the built-in
bert-tiny to that model's family and shape; `pretrained` names the weights to start from: a hub
snapshot "<repo>@<commit>" or a local `save_pretrained` folder.
"""

import logging
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification
from transformers.models.auto.configuration_auto import CONFIG_MAPPING

from trainables.data.hub import hub_reachable
from trainables.models.bert_attention import ATTENTION
from trainables.models.families import family_of, uses_fast_attention

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
    model_config: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Build the classifier: the weights `pretrained` names ("<repo>@<commit>" or a folder), else a seeded init.

    Without `model_config` it is bert-tiny (BERT's field names in `arch`); with it, that model's
    family and shape, `arch` overriding the family's own field names. Which start is decided on the
    driver (trainables.data.sources.resolve_sources), never here: weights that cannot be loaded
    raise OSError instead of quietly becoming a random model. The seeded init gives the same model
    for the same `seed` and leaves the global RNG as it was.
    """
    if model_config is not None:
        return build_family_model(model_config, vocab_size, num_labels, arch, pretrained, seed)
    config = bert_config(vocab_size, num_labels, arch)
    if pretrained:
        return load_pretrained(pretrained, config, seed)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    torch.random.set_rng_state(generator_state)
    return model


def model_skeleton(model_config: Mapping[str, Any] | None = None) -> nn.Module:
    """The run's classifier without weights (on the meta device): its module names, for checks before a run.

    bert-tiny without `model_config`, else that model's family and shape.
    """
    with torch.device("meta"):
        if model_config is None:
            return BertForSequenceClassification(bert_config(BERT_BASE_VOCAB, 2))
        config = family_config(model_config, int(model_config.get("vocab_size", 1)), 2)
        return AutoModelForSequenceClassification.from_config(config)


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


def family_config(
    model_config: Mapping[str, Any], vocab_size: int, num_labels: int, arch: Mapping[str, Any] | None = None
):
    """The Hugging Face config of a `--model` family: `model_config` with `num_labels` and `arch` set.

    The tokenizer's `vocab_size` must fit the model's embeddings (ValueError otherwise); `arch` keys
    must be the family's own config fields (ValueError naming the unknown ones).
    """
    fields = dict(model_config)
    config_class = CONFIG_MAPPING[fields["model_type"]]
    unknown = set(arch or {}) - set(config_class().to_dict())
    if unknown:
        raise ValueError(f"unknown {fields['model_type']} config fields {sorted(unknown)}; use its own names")
    config = config_class.from_dict({**fields, **dict(arch or {})})
    if vocab_size > config.vocab_size:
        raise ValueError(
            f"the tokenizer has {vocab_size} tokens but the {fields['model_type']} model embeds "
            f"{config.vocab_size}; give the model's own tokenizer (drop --tokenizer)"
        )
    config.num_labels = num_labels
    return config


def build_family_model(
    model_config: Mapping[str, Any],
    vocab_size: int,
    num_labels: int,
    arch: Mapping[str, Any] | None,
    pretrained: str | None,
    seed: int,
) -> nn.Module:
    """A `--model` classifier: its pretrained weights (a new head drawn from `seed`), or a seeded init."""
    config = family_config(model_config, vocab_size, num_labels, arch)
    attention = {"attn_implementation": ATTENTION} if uses_fast_attention(config.model_type) else {}
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        if pretrained:
            location, revision = _location(pretrained)
            model = AutoModelForSequenceClassification.from_pretrained(
                location,
                revision=revision,
                config=config,
                ignore_mismatched_sizes=True,  # a head for another label count is drawn anew
                local_files_only=os.path.isdir(location) or not hub_reachable(),
                **attention,
            )
        else:
            model = AutoModelForSequenceClassification.from_config(config, **attention)
    finally:
        torch.random.set_rng_state(generator_state)
    return model


def _location(pretrained: str) -> tuple[str, str | None]:
    """(folder or repo id, revision) of a `pretrained` value: a folder as is, else "<repo>@<commit>"."""
    if os.path.isdir(pretrained):
        return pretrained, None
    repo_id, _, revision = pretrained.partition("@")
    return repo_id, revision or None


def architecture(model: nn.Module) -> dict[str, int]:
    """The shape fields of a built model, read from its modules (not from what was asked for).

    A `--model` family other than BERT reports its own field names, read from the built config.
    """
    if not isinstance(model, BertForSequenceClassification):
        family = family_of(getattr(model.config, "model_type", ""))
        fields = family.shape_fields if family is not None else ()
        return {name: int(getattr(model.config, name)) for name in fields}
    encoder = model.bert.encoder
    attention = encoder.layer[0].attention.self
    return {
        "num_hidden_layers": len(encoder.layer),
        "num_attention_heads": attention.num_attention_heads,
        "hidden_size": model.bert.embeddings.word_embeddings.embedding_dim,
        "intermediate_size": encoder.layer[0].intermediate.dense.out_features,
    }
