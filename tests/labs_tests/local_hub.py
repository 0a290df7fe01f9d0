"""A Hugging Face hub cache written by the test, in the hub's own on-disk layout, for offline runs.

    <HF_HOME>/hub/models--prajjwal1--bert-tiny/
        refs/main                      the snapshot's commit id
        snapshots/<commit>/config.json -> ../../blobs/<sha256>
        blobs/<sha256>                 the file contents
    <HF_HOME>/hub/models--bert-base-uncased/   the same, for the tokenizer

What `from_pretrained` leaves after a download, so the project's ordinary `from_pretrained` calls
find it with HF_HUB_OFFLINE=1. The weights are drawn from a fixed seed and the WordPiece vocabulary
is trained here, on the embedded Rotten Tomatoes corpus: neither is the real artifact.
"""

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

MODEL_ID = "prajjwal1/bert-tiny"
TOKENIZER_ID = "bert-base-uncased"
WEIGHTS_SEED = 20261201
# bert-base-uncased's layout: [PAD]=0, [unused0..98]=1..99, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103.
VOCAB_SIZE = 30522
SPECIALS = ["[PAD]", *[f"[unused{i}]" for i in range(99)], "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# prajjwal1/bert-tiny's published shape.
BERT_TINY = {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512}


@dataclass(frozen=True)
class LocalHub:
    """Where the cache is and what it holds (revisions, the seeded weights' state dict file, the vocab)."""

    hf_home: Path
    model_revision: str
    tokenizer_revision: str

    @property
    def hub_dir(self) -> Path:
        return self.hf_home / "hub"

    def snapshot(self, repo_id: str) -> Path:
        revision = self.model_revision if repo_id == MODEL_ID else self.tokenizer_revision
        return self.hub_dir / repo_folder(repo_id) / "snapshots" / revision

    def env(self) -> dict[str, str]:
        """The environment of a process that must use only this cache: HF_HOME set, the hub offline."""
        env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
        return {**env, "HF_HOME": str(self.hf_home), "HF_HUB_OFFLINE": "1"}


def build_local_hub(hf_home: Path, corpus: list[str]) -> LocalHub:
    """Write bert-tiny-shaped seeded weights and a WordPiece tokenizer trained on `corpus` under hf_home/hub."""
    hub_dir = hf_home / "hub"
    return LocalHub(
        hf_home,
        model_revision=write_hub_repo(hub_dir, MODEL_ID, save_bert_tiny),
        tokenizer_revision=write_hub_repo(
            hub_dir, TOKENIZER_ID, lambda folder: save_bert_tokenizer(folder, corpus)
        ),
    )


def save_bert_tiny(folder: Path) -> None:
    """prajjwal1/bert-tiny's files (config.json, model.safetensors) with weights drawn from WEIGHTS_SEED."""
    config = BertConfig(vocab_size=VOCAB_SIZE, num_labels=2, max_position_embeddings=512, **BERT_TINY)
    torch.manual_seed(WEIGHTS_SEED)
    BertForSequenceClassification(config).save_pretrained(folder)


def save_bert_tokenizer(folder: Path, corpus: list[str]) -> None:
    """bert-base-uncased's tokenizer files, its vocabulary learned from `corpus` (see wordpiece_vocab)."""
    # The real repository is a model repository: AutoTokenizer reads its config.json first.
    BertConfig(vocab_size=VOCAB_SIZE).save_pretrained(folder)  # bert-base's shape, no weights
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(wordpiece_vocab(corpus)) + "\n", encoding="utf-8")
    BertTokenizer(vocab=str(vocab), do_lower_case=True, model_max_length=512).save_pretrained(folder)


def saved_files(save: Callable[[Path], None]) -> dict[str, bytes]:
    """The files `save(folder)` writes, by path relative to the folder."""
    with tempfile.TemporaryDirectory() as tmp:
        save(Path(tmp))
        return {str(p.relative_to(tmp)): p.read_bytes() for p in sorted(Path(tmp).rglob("*")) if p.is_file()}


def wordpiece_vocab(corpus: list[str], learned: int = 8000) -> list[str]:
    """A 30,522-entry vocabulary in bert-base-uncased's layout, with tokens learned from `corpus`."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=learned, special_tokens=SPECIALS, show_progress=False)
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    by_id = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    tokens = SPECIALS + [token for token, _ in by_id if token not in SPECIALS]
    tokens += [f"[unused{i}]" for i in range(99, 99 + VOCAB_SIZE - len(tokens))]
    return tokens[:VOCAB_SIZE]


def repo_folder(repo_id: str) -> str:
    return "models--" + repo_id.replace("/", "--")


def write_hub_repo(hub_dir: Path, repo_id: str, save: Callable[[Path], None]) -> str:
    """Save a repository with `save(folder)` and lay it out as the hub cache does; return its commit id.

    The commit id is a SHA-1 over the file names and contents (40 hex digits, like git's), so the same
    files always give the same revision.
    """
    repo = hub_dir / repo_folder(repo_id)
    with tempfile.TemporaryDirectory() as tmp:
        save(Path(tmp))
        files = sorted(p for p in Path(tmp).rglob("*") if p.is_file())
        commit = hashlib.sha1()
        for path in files:
            commit.update(str(path.relative_to(tmp)).encode() + b"\0" + path.read_bytes())
        revision = commit.hexdigest()
        for path in files:
            data = path.read_bytes()
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = repo / "snapshots" / revision / path.relative_to(tmp)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return revision
