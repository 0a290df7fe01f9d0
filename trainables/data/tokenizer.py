"""Tokenizers: bert-base-uncased from the hub, or a WordPiece vocabulary trained on the train split."""

import logging
from collections.abc import Iterable, Sequence

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from errors import DataError
from trainables.data.hub import hub_reachable
from trainables.data.spec import DataSpec

log = logging.getLogger(__name__)

BERT_HUB_ID = "bert-base-uncased"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # [PAD] first so its id is 0, as in BERT
WORDPIECE_VOCAB_SIZE = 8000
SYNTHETIC_VOCAB_SIZE = 500  # the synthetic corpus has ~50 distinct words; this is a ceiling, not a target


def resolve_tokenizer_name(spec: DataSpec) -> str:
    """The concrete tokenizer name: "auto" becomes bert-base-uncased if the hub or its cache has it, else wordpiece.

    A run decides this once on the driver (trainables.data.sources.resolve_sources) and passes the
    concrete name and revision on; "auto" is for direct library use.
    """
    if spec.tokenizer != "auto":
        return spec.tokenizer
    from trainables.data.sources import hub_snapshot

    return BERT_HUB_ID if hub_snapshot(BERT_HUB_ID, "tokenizer_config.json") is not None else "wordpiece"


def load_tokenizer(spec: DataSpec, train_texts: Sequence[str] | None = None) -> PreTrainedTokenizerFast:
    """A fast BERT-style tokenizer for `spec`: [CLS] text [SEP], [PAD] as padding, lower-cased.

    bert-base-uncased comes from the hub when reachable, or from the local Hugging Face cache; if it
    is in neither, DataError says to use the wordpiece tokenizer. wordpiece trains on `train_texts`,
    or on the spec's whole training split when None (loading the dataset). Training is deterministic
    but costs seconds, so callers should go through prepare_data, which trains once and caches it.
    """
    name = resolve_tokenizer_name(spec)
    if name == BERT_HUB_ID:
        return _load_bert(spec.max_length, spec.tokenizer_revision)
    if name == "pretrained":
        return load_pretrained_tokenizer(str(spec.tokenizer_source), spec.max_length)
    if train_texts is None:
        from trainables.data.datasets import load_text_dataset  # avoid a cycle at import time

        data = load_text_dataset(spec.dataset, spec.data_dir, spec.seed, spec.synthetic_size)
        train_texts = list(data["train"]["text"])
    vocab_size = SYNTHETIC_VOCAB_SIZE if spec.dataset == "synthetic" else WORDPIECE_VOCAB_SIZE
    return train_wordpiece(train_texts, vocab_size=vocab_size, max_length=spec.max_length)


def train_wordpiece(
    texts: Iterable[str], vocab_size: int = WORDPIECE_VOCAB_SIZE, max_length: int = 512
) -> PreTrainedTokenizerFast:
    """Train a lower-casing BERT WordPiece tokenizer on `texts`; [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4.

    Deterministic: the same texts give the same vocabulary and ids in every process, so caches built
    separately on each node of a cluster agree, and a checkpoint trained on one node reads right on
    another.
    """
    texts = list(texts)
    normalizer = normalizers.BertNormalizer(lowercase=True, clean_text=True, strip_accents=None)
    # The Rust trainer numbers "##c" continuation tokens in hash-map order, which changes per process,
    # and breaks ties between equally frequent merges by those numbers: the vocabulary came out
    # different on every run. Registering every "##c" up front, in sorted order, pins all the ids.
    continuations = [f"##{c}" for c in sorted(_normalized_chars(texts, normalizer)) if not c.isspace()]
    trainer = trainers.WordPieceTrainer(
        vocab_size=max(vocab_size, len(SPECIAL_TOKENS) + 2 * len(continuations)),
        min_frequency=2,  # a word seen once teaches an embedding nothing; leave it to sub-words
        special_tokens=list(SPECIAL_TOKENS) + continuations,
        continuing_subword_prefix="##",
        show_progress=False,
    )
    draft = _bert_style(Tokenizer(models.WordPiece(unk_token="[UNK]")), normalizer)
    draft.train_from_iterator(texts, trainer=trainer)
    # Rebuild from the learned vocabulary so the "##c" helpers are ordinary tokens, not special ones
    # (special tokens would be matched in raw text and dropped when decoding).
    vocab = draft.get_vocab()
    tokenizer = _bert_style(
        Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##")), normalizer
    )
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    log.info("trained WordPiece tokenizer on %d texts: %d tokens", len(texts), tokenizer.get_vocab_size())
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
        do_lower_case=True,
    )


def _normalized_chars(texts: list[str], normalizer: normalizers.Normalizer) -> set[str]:
    """Every character the normalizer can emit for `texts` (a superset is fine: extra tokens are harmless).

    Normalizing character by character is exact for BERT's normalizer (clean-up, accent stripping and
    lower-casing act per character) except for the context-dependent final sigma, added by hand.
    It is ~100x faster than normalizing every text, which took seconds on IMDb.
    """
    raw = set().union(*map(set, texts))
    chars = set().union(*(normalizer.normalize_str(c) for c in raw), raw, (c.lower() for c in raw))
    if "\u03a3" in raw:  # capital sigma lower-cases to the final form at the end of a word
        chars.add("\u03c2")
    return chars


def _bert_style(tokenizer: Tokenizer, normalizer: normalizers.Normalizer) -> Tokenizer:
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


def load_pretrained_tokenizer(source: str, max_length: int = 512) -> PreTrainedTokenizerFast:
    """A `--model`'s own (or `--tokenizer`'s) fast tokenizer: a local folder, or "<repo>@<commit>" from the hub
    or its local cache. DataError (one line) when it cannot be loaded or has no padding token.
    """
    import os

    location, _, revision = (source, "", "") if os.path.isdir(source) else source.partition("@")
    local_only = os.path.isdir(location) or not hub_reachable()
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            location, revision=revision or None, local_files_only=local_only, use_fast=True
        )
    except Exception as exc:  # any failure means "no tokenizer"; say so in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"tokenizer {source!r} could not be loaded ({first}); give --tokenizer") from exc
    if not tokenizer.is_fast:
        raise DataError(
            f"tokenizer {source!r} has no fast (Rust) version; give --tokenizer with a tokenizer.json"
        )
    if tokenizer.pad_token_id is None:
        raise DataError(f"tokenizer {source!r} has no padding token; give --tokenizer with one")
    tokenizer.model_max_length = max_length
    return tokenizer


def _load_bert(max_length: int, revision: str | None = None) -> PreTrainedTokenizerFast:
    # Offline, only the local cache may be consulted: a hub call would retry a dead network for minutes.
    local_only = not hub_reachable()
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            BERT_HUB_ID, revision=revision, local_files_only=local_only, use_fast=True
        )
    except Exception as exc:  # any failure means "no bert tokenizer"; say so in one line
        where = (
            "is not in the local Hugging Face cache and the hub is unreachable" if local_only else "failed"
        )
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"tokenizer {BERT_HUB_ID!r} {where} ({first}); prefill HF_HOME on this node or use tokenizer='wordpiece'"
        ) from exc
    tokenizer.model_max_length = max_length
    return tokenizer
