"""Tiny DistilBERT, RoBERTa and ALBERT sequence classifiers, each with its own family's tokenizer,
written by the tests as `save_pretrained` folders and in the Hugging Face hub cache's layout.

The weights come from a fixed seed and each tokenizer is trained here on the embedded Rotten
Tomatoes corpus (WordPiece for DistilBERT, byte-level BPE for RoBERTa, Unigram/SentencePiece for
ALBERT), so the files are what `save_pretrained` writes for a real model of that family, only tiny.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AlbertConfig,
    AutoModelForSequenceClassification,
    DistilBertConfig,
    PreTrainedTokenizerFast,
    RobertaConfig,
)

from tests.labs_tests.local_hub import write_hub_repo

SEED = 20261207
VOCAB = 1200
SHAPE = {"layers": 2, "heads": 2, "hidden": 32, "intermediate": 64}
# Hub ids the hub-layout copies are written under (no such repositories are fetched).
HUB_IDS = {"distilbert": "tiny/distilbert-sst", "roberta": "tiny/roberta-sst", "albert": "tiny/albert-sst"}
FAMILIES = tuple(HUB_IDS)


@dataclass(frozen=True)
class TinyModels:
    """Where the tiny models are: one save_pretrained folder each, and an HF_HOME holding all three."""

    folders: dict[str, Path]
    hf_home: Path
    revisions: dict[str, str]

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """`base` with HF_HOME set to the test-built hub cache and the hub offline."""
        env = {k: v for k, v in base.items() if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
        return {**env, "HF_HOME": str(self.hf_home), "HF_HUB_OFFLINE": "1"}


def build_tiny_models(root: Path, corpus: list[str]) -> TinyModels:
    """Write each family's tiny model and tokenizer as a folder under root/ and into root/hf_home/hub."""
    folders, revisions = {}, {}
    for family in FAMILIES:
        save = _saver(family, corpus)
        folders[family] = root / f"tiny-{family}"
        save(folders[family])
        revisions[family] = write_hub_repo(root / "hf_home" / "hub", HUB_IDS[family], save)
    return TinyModels(folders, root / "hf_home", revisions)


def _saver(family: str, corpus: list[str]) -> Callable[[Path], None]:
    def save(folder: Path) -> None:
        tokenizer = TOKENIZERS[family](corpus)
        config = _config(family, tokenizer)
        torch.manual_seed(SEED)
        AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    return save


def _config(family: str, tokenizer: PreTrainedTokenizerFast):
    common = {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id, "num_labels": 2}
    if family == "distilbert":
        return DistilBertConfig(
            n_layers=SHAPE["layers"], n_heads=SHAPE["heads"], dim=SHAPE["hidden"], hidden_dim=SHAPE["intermediate"],
            max_position_embeddings=512, **common,
        )  # fmt: skip
    shape = {
        "num_hidden_layers": SHAPE["layers"],
        "num_attention_heads": SHAPE["heads"],
        "hidden_size": SHAPE["hidden"],
        "intermediate_size": SHAPE["intermediate"],
    }
    if family == "roberta":
        # RoBERTa's positions start after the padding id: 512 tokens need 514 positions.
        return RobertaConfig(
            max_position_embeddings=514, bos_token_id=0, eos_token_id=2, type_vocab_size=1, **shape, **common
        )
    return AlbertConfig(embedding_size=16, max_position_embeddings=512, **shape, **common)


def _wordpiece(corpus: list[str]) -> PreTrainedTokenizerFast:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.train_from_iterator(
        corpus, trainers.WordPieceTrainer(vocab_size=VOCAB, special_tokens=specials)
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=512,
    )  # fmt: skip


def _byte_level_bpe(corpus: list[str]) -> PreTrainedTokenizerFast:
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=VOCAB, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
        cls_token="<s>", sep_token="</s>", mask_token="<mask>", model_max_length=512,
    )  # fmt: skip


def _unigram(corpus: list[str]) -> PreTrainedTokenizerFast:
    specials = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.Sequence([normalizers.Lowercase(), normalizers.NFKC()])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(
        corpus, trainers.UnigramTrainer(vocab_size=VOCAB, special_tokens=specials, unk_token="<unk>")
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=512,
    )  # fmt: skip


TOKENIZERS: dict[str, Callable[[list[str]], PreTrainedTokenizerFast]] = {
    "distilbert": _wordpiece,
    "roberta": _byte_level_bpe,
    "albert": _unigram,
}


def linear_count(folder: Path) -> int:
    """How many nn.Linear modules the saved model has (what `by: type` quantization must swap)."""
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    return sum(isinstance(m, torch.nn.Linear) for m in model.modules())


def config_of(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def main(argv: list[str] | None = None) -> None:
    """`python tests/own_models_tests/tiny_models.py OUT`: write the three tiny models and reviews.csv into OUT.

    reviews.csv is the embedded Rotten Tomatoes corpus with its own string labels (fresh/rotten),
    the data of the README's measured example.
    """
    import sys

    import pandas as pd

    from trainables.data.datasets import load_rotten_tomatoes

    out = Path((argv if argv is not None else sys.argv[1:])[0])
    data = load_rotten_tomatoes()
    texts = list(data["train"]["text"]) + list(data["test"]["text"])
    labels = list(data["train"]["label"]) + list(data["test"]["label"])
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"text": texts, "category": [["rotten", "fresh"][v] for v in labels]}).to_csv(
        out / "reviews.csv", index=False
    )
    models = build_tiny_models(out, texts[:3000])
    print("\n".join(str(folder) for folder in models.folders.values()))


if __name__ == "__main__":
    main()
