"""A hub dataset id (`--dataset user/name --dataset-config --train-split --test-split`), downloaded, then from the cache.

Marked `online` (make test-online). The loopback hub (tests/loopback_hub.py) serves a dataset
repository built here: two configurations, `plain` (the default: `text`/`label`) and `reviews`
(`review`/`verdict`, string labels, splits `training` and `held_out`). `adls run base` (the tiny
DistilBERT's folder as --model, so the hub serves the data only) on an empty
HF_HOME downloads the `reviews` configuration through HF_ENDPOINT; with the hub stopped and
HF_HUB_OFFLINE=1, the same command on a fresh tokenized cache reads `datasets`' own cache.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.loopback_hub import HUB_SETTINGS, HubRepo, LoopbackHub, wait_closed
from trainables.data.datasets import make_synthetic

pytestmark = pytest.mark.online
REPO_ID = "adls-test/reviews"
README = """---
configs:
- config_name: plain
  data_files:
  - split: train
    path: plain/train-*
  - split: test
    path: plain/test-*
  default: true
- config_name: reviews
  data_files:
  - split: training
    path: reviews/training-*
  - split: held_out
    path: reviews/held_out-*
---

# Reviews written by the adls-tune tests, in two configurations
"""


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def dataset_repo() -> tuple[HubRepo, dict[str, pd.DataFrame]]:
    """The repository and the `reviews` configuration's two splits as written."""
    data = make_synthetic(200, seed=11)
    names = ["bad", "good"]
    frames = {}
    for split, (begin, end) in {"training": (0, 150), "held_out": (150, 200)}.items():
        rows = data["train"].select(range(begin, end))
        frames[split] = pd.DataFrame({"review": rows["text"], "verdict": [names[v] for v in rows["label"]]})
    plain = pd.DataFrame({"text": ["only in plain"] * 4, "label": [0, 1, 0, 1]})
    files = {
        "README.md": README.encode(),
        ".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n",
        "plain/train-00000-of-00001.parquet": parquet(plain),
        "plain/test-00000-of-00001.parquet": parquet(plain),
        **{f"reviews/{split}-00000-of-00001.parquet": parquet(frame) for split, frame in frames.items()},
    }
    return HubRepo("dataset", REPO_ID, files), frames


def run_base(env: dict[str, str], storage: Path, model: Path) -> subprocess.CompletedProcess:
    words = ["run", "base", "--profile", "smoke", "--storage", str(storage), "--dataset", REPO_ID]
    words += ["--dataset-config", "reviews", "--train-split", "training", "--test-split", "held_out"]
    words += ["--text-column", "review", "--label-column", "verdict", "--model", str(model)]
    return subprocess.run(
        [sys.executable, "-m", "adls", *words],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=Path(__file__).resolve().parents[2],
    )


def recorded(storage: Path) -> dict:
    row = pd.read_parquet(storage / "base" / "trials.parquet").iloc[0]
    assert row["status"] == "TERMINATED"
    return {key: row[key] for key in ("data_source", "data_hash", "label_map", "class_counts", "num_classes")}


def test_a_hub_dataset_is_downloaded_once_then_read_from_the_cache_offline(tiny_models, tmp_path):
    repo, frames = dataset_repo()
    model = tiny_models.folders["distilbert"]  # a save_pretrained folder: the hub serves the data only
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(HUB_SETTINGS)}
    env.update(
        HF_HOME=str(tmp_path / "hf_home"), ADLS_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(root)
    )
    with LoopbackHub([repo]) as hub:
        online = run_base({**env, "HF_ENDPOINT": hub.url}, tmp_path / "online", model)
    wait_closed(hub.port)
    assert online.returncode == 0, online.stdout[-3000:] + online.stderr[-3000:]
    first = recorded(tmp_path / "online")
    assert first["data_source"].startswith(f"hub {REPO_ID} (reviews)")
    assert json.loads(first["label_map"]) == {"bad": 0, "good": 1} and first["num_classes"] == 2
    counts = json.loads(first["class_counts"])
    for split, name in (("training", "train"), ("held_out", "test")):  # the named splits, whole
        assert counts[name] == frames[split]["verdict"].value_counts().to_dict()
    assert any((tmp_path / "hf_home").rglob("*.arrow"))  # datasets' own cache, under the empty HF_HOME

    offline = {
        **env,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_OFFLINE": "1",
        "ADLS_CACHE_DIR": str(tmp_path / "cache2"),
    }
    again = run_base(offline, tmp_path / "offline", model)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "HF_HUB_OFFLINE=1" in again.stdout.splitlines()[0]
    assert recorded(tmp_path / "offline") == first  # the same data, from the cache
