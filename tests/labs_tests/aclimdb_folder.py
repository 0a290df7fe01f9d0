"""A folder in the layout of Stanford's aclImdb_v1.tar.gz, written by the test from the embedded corpus.

    aclImdb/README, imdb.vocab, imdbEr.txt
    aclImdb/train/{pos,neg}/<id>_<rating>.txt   pos: ratings 7-10, neg: 1-4
    aclImdb/train/unsup/<id>_0.txt
    aclImdb/train/{labeledBow,unsupBow}.feat    bag of words, "<rating> <word index>:<count> ..."
    aclImdb/train/urls_{pos,neg,unsup}.txt      one URL per review, in id order
    aclImdb/test/{pos,neg}/..., labeledBow.feat, urls_{pos,neg}.txt

Each review joins Rotten Tomatoes snippets of one label (fresh: pos, rotten: neg) with the real
archive's `<br /><br />` breaks; every LONG_EVERY-th review is long enough to pass 512 tokens.
"""

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Most reviews are a few snippets (~30-120 tokens) so that the CI run stays short; every 32nd is
# ~1,300 words, well past 512 WordPiece tokens, so truncation is exercised in every batch group.
LONG_EVERY = 32
LONG_SNIPPETS = 60
URL = "http://www.imdb.com/title/tt{:07d}/usercomments"


@dataclass(frozen=True)
class AclImdb:
    root: Path
    reviews: dict[str, dict[str, list[str]]]  # split -> folder (pos/neg/unsup) -> texts in id order


def build_aclimdb(
    parent: Path, texts: list[str], labels: list[int], per_label: int = 160, unsup: int = 40, seed: int = 0
) -> AclImdb:
    """Write `parent`/aclImdb with `per_label` reviews per label and split; returns its root and reviews."""
    rng = np.random.default_rng(seed)
    labels_array = np.asarray(labels)
    pools = {"pos": np.flatnonzero(labels_array == 1), "neg": np.flatnonzero(labels_array == 0)}
    root = parent / "aclImdb"
    reviews: dict[str, dict[str, list[str]]] = {"train": {}, "test": {}}
    for split in ("train", "test"):
        for folder in ("pos", "neg"):
            reviews[split][folder] = [_review(rng, texts, pools[folder], i) for i in range(per_label)]
    everything = np.arange(len(texts))
    reviews["train"]["unsup"] = [_review(rng, texts, everything, i) for i in range(unsup)]
    vocab = _vocabulary(r for split in reviews.values() for folder in split.values() for r in folder)
    index = {word: i for i, word in enumerate(vocab)}
    root.mkdir(parents=True)
    (root / "README").write_text("Large Movie Review Dataset layout, written by the adls-tune tests.\n")
    (root / "imdb.vocab").write_text("\n".join(vocab) + "\n")
    (root / "imdbEr.txt").write_text("\n".join(f"{rng.normal():.6f}" for _ in vocab) + "\n")
    movie = 0
    for split, folders in reviews.items():
        feats: dict[str, list[str]] = {"labeledBow": [], "unsupBow": []}
        for folder, folder_reviews in folders.items():
            (root / split / folder).mkdir(parents=True)
            urls = []
            for i, text in enumerate(folder_reviews):
                rating = (
                    0
                    if folder == "unsup"
                    else int(rng.integers(7, 11) if folder == "pos" else rng.integers(1, 5))
                )
                (root / split / folder / f"{i}_{rating}.txt").write_text(text, encoding="utf-8")
                counts = Counter(index[w] for w in _words(text))
                bow = " ".join(f"{k}:{v}" for k, v in sorted(counts.items()))
                feats["unsupBow" if folder == "unsup" else "labeledBow"].append(f"{rating} {bow}")
                urls.append(URL.format(movie))
                movie += int(rng.integers(0, 2))  # a few reviews per movie, as in the archive
            (root / split / f"urls_{folder}.txt").write_text("\n".join(urls) + "\n")
        for name, lines in feats.items():
            if lines:
                (root / split / f"{name}.feat").write_text("\n".join(lines) + "\n")
    return AclImdb(root, reviews)


def _review(rng: np.random.Generator, texts: list[str], pool: np.ndarray, i: int) -> str:
    count = LONG_SNIPPETS if i % LONG_EVERY == LONG_EVERY - 1 else int(rng.integers(1, 5))
    chosen = [texts[j].strip() for j in rng.choice(pool, size=count, replace=False)]
    paragraphs = [" ".join(chosen[k : k + 4]) for k in range(0, len(chosen), 4)]
    return "<br /><br />".join(paragraphs)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("<br />", " "))


def _vocabulary(texts) -> list[str]:
    counts = Counter(w for text in texts for w in _words(text))
    return [w for w, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
