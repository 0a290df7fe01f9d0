"""A run's own model (`--model ID_OR_PATH`) and tokenizer (`--tokenizer`), resolved once on the driver.

The model is a local folder written by `save_pretrained`, or a hub id loaded through the ordinary
`from_pretrained` path (the hub when it answers, else the local hub cache, so a prefilled HF_HOME
with HF_HUB_OFFLINE=1 works). It must be a class `AutoModelForSequenceClassification` builds;
anything else is refused in one line before Ray starts. Its config is read here and travels in
every trial's settings, so trials and checkpoints rebuild it without the hub.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from errors import ConfigError
from trainables.data.hub import hub_reachable
from trainables.data.hub_snapshot import hub_cache_dir, hub_snapshot

WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


@dataclass(frozen=True)
class ModelChoice:
    """What a --model run starts from: weights (None: a seeded init of `config`), tokenizer, config, where."""

    start: str | None
    tokenizer: str
    config: dict[str, Any]
    location: str
    fallbacks: tuple[str, ...] = ()


def resolve_model(model: str, tokenizer: str | None, model_source: str) -> ModelChoice:
    """The model and tokenizer of a `--model` run; ConfigError (one line) when either cannot be had."""
    location, where = _locate(model, "--model", "config.json")
    config = _read_config(location, model)
    weights = _has_weights(location)
    fallbacks: list[str] = []
    start: str | None
    if model_source == "seeded":
        start = None
    elif weights:
        start = location
    elif model_source == "hub":
        raise ConfigError(
            f"--model {model!r}: {where} has no weights file; add them, or use --model-source seeded"
        )
    else:
        start = None
        fallbacks.append(f"{where} has no weights file, so the model starts from a seeded init of its config")
    tokenizer_location, _ = _locate(
        tokenizer or model, "--tokenizer" if tokenizer else "--model", "tokenizer_config.json"
    )
    if not _has_tokenizer(tokenizer_location):
        raise ConfigError(
            f"{'--tokenizer ' + repr(tokenizer) if tokenizer else '--model ' + repr(model)} has no tokenizer "
            f"files ({' or '.join(TOKENIZER_FILES)}); name one with --tokenizer"
        )
    return ModelChoice(start, tokenizer_location, config, location, tuple(fallbacks))


def _locate(name: str, flag: str, filename: str) -> tuple[str, str]:
    """(folder, or "<repo>@<commit>"; a description) of a model or tokenizer given by folder or hub id."""
    folder = Path(os.path.expanduser(name))
    if folder.is_dir():
        if not any((folder / f).is_file() for f in ("config.json", *TOKENIZER_FILES)):
            raise ConfigError(
                f"{flag} {name!r} is a folder without config.json; give a folder written by save_pretrained"
            )
        return str(folder.absolute()), f"folder {folder.absolute()}"
    if name.startswith(("/", ".", "~")) or folder.suffix in (".json", ".bin", ".safetensors"):
        raise ConfigError(f"{flag} {name!r}: no such folder; give a save_pretrained folder or a hub model id")
    snapshot = hub_snapshot(name, filename)
    if snapshot is None and filename != "config.json":
        snapshot = hub_snapshot(name, "config.json")
    if snapshot is None:
        reach = "the hub" if hub_reachable() else "the hub (unreachable)"
        raise ConfigError(
            f"{flag} {name!r} is neither a folder nor on {reach} or in the local cache {hub_cache_dir()}; "
            "connect to the internet, prefill HF_HOME, or give a save_pretrained folder"
        )
    return str(snapshot), f"hub snapshot {snapshot}"


def _local_path(location: str, filename: str) -> str | None:
    """The path of `filename` in a folder or cached snapshot, or None when it is not there."""
    if os.path.isdir(location):
        path = os.path.join(location, filename)
        return path if os.path.isfile(path) else None
    from huggingface_hub import try_to_load_from_cache

    repo_id, _, revision = location.partition("@")
    found = try_to_load_from_cache(repo_id, filename, revision=revision or None)
    if isinstance(found, str):
        return found
    if hub_reachable():
        from huggingface_hub import hf_hub_download

        try:
            return hf_hub_download(repo_id, filename, revision=revision or None)
        except Exception:  # not in that repository
            return None
    return None


def _read_config(location: str, model: str) -> dict[str, Any]:
    """The model's config as a dict; ConfigError unless AutoModelForSequenceClassification builds it."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

    path = _local_path(location, "config.json")
    if path is None:
        raise ConfigError(f"--model {model!r} has no config.json; give a folder written by save_pretrained")
    try:
        config = AutoConfig.from_pretrained(os.path.dirname(path))
    except Exception as error:  # an unknown model_type, a broken file: one line
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"--model {model!r}: its config.json could not be read ({first})") from None
    if type(config) not in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING:
        raise ConfigError(
            f"--model {model!r} is a {config.model_type!r} model, which AutoModelForSequenceClassification "
            "cannot build; give a text encoder classifier (BERT, DistilBERT, RoBERTa, ALBERT families)"
        )
    fields = config.to_dict()
    for key in ("_name_or_path", "architectures", "transformers_version", "torch_dtype", "dtype"):
        fields.pop(key, None)
    return fields


def _has_weights(location: str) -> bool:
    return any(_local_path(location, name) is not None for name in WEIGHT_FILES)


def _has_tokenizer(location: str) -> bool:
    return any(_local_path(location, name) is not None for name in TOKENIZER_FILES)
