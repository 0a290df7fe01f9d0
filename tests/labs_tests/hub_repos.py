"""The three repositories the loopback hub serves, built by the test: the labs' model, tokenizer and IMDb.

- prajjwal1/bert-tiny: bert-tiny-shaped weights from a fixed seed (local_hub.save_bert_tiny).
- bert-base-uncased: a BERT tokenizer whose vocabulary is learned from the embedded corpus.
- stanfordnlp/imdb: the hub repository's layout (README.md with the `plain_text` config, Parquet
  files plain_text/{train,test,unsupervised}-00000-of-00001.parquet, label a ClassLabel neg/pos),
  holding the reviews of the test's aclImdb folder, so online and folder runs read the same texts.
"""

import io

import pandas as pd

from tests.labs_tests.aclimdb_folder import AclImdb
from tests.labs_tests.local_hub import (
    MODEL_ID,
    TOKENIZER_ID,
    save_bert_tiny,
    save_bert_tokenizer,
    saved_files,
)
from tests.loopback_hub import HubRepo

IMDB_ID = "stanfordnlp/imdb"
SPLITS = ("train", "test", "unsupervised")
IMDB_README = """---
language:
- en
license: other
task_categories:
- text-classification
dataset_info:
  config_name: plain_text
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': neg
          '1': pos
configs:
- config_name: plain_text
  data_files:
  - split: train
    path: plain_text/train-*
  - split: test
    path: plain_text/test-*
  - split: unsupervised
    path: plain_text/unsupervised-*
  default: true
---

# IMDb-shaped reviews written by the adls-tune tests
"""


def build_hub_repos(corpus: list[str], aclimdb: AclImdb) -> list[HubRepo]:
    """The model, tokenizer and dataset repositories (see the module docstring)."""
    return [
        HubRepo("model", MODEL_ID, saved_files(save_bert_tiny)),
        HubRepo("model", TOKENIZER_ID, saved_files(lambda folder: save_bert_tokenizer(folder, corpus))),
        HubRepo("dataset", IMDB_ID, imdb_files(aclimdb)),
    ]


def imdb_files(aclimdb: AclImdb) -> dict[str, bytes]:
    """README.md and one Parquet file per split; rows ordered neg then pos, as the hub's IMDb is."""
    files = {
        "README.md": IMDB_README.encode(),
        ".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n",
    }
    for split in SPLITS:
        folders = {"train": aclimdb.reviews["train"], "test": aclimdb.reviews["test"]}.get(split)
        if folders is None:
            rows = [(text, -1) for text in aclimdb.reviews["train"]["unsup"]]
        else:
            rows = [(text, 0) for text in folders["neg"]] + [(text, 1) for text in folders["pos"]]
        frame = pd.DataFrame({"text": [t for t, _ in rows], "label": [label for _, label in rows]})
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        files[f"plain_text/{split}-00000-of-00001.parquet"] = buffer.getvalue()
    return files
