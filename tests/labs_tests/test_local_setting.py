"""The labs' setting offline: the test-built hub cache resolves through ordinary from_pretrained calls."""

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from safetensors.torch import load_file
from transformers import BertTokenizer

from tests.labs_tests.local_hub import MODEL_ID, TOKENIZER_ID
from trainables.data.datasets import load_imdb_folder
from trainables.data.sources import resolve_sources
from trainables.models.checkpoint import weights_fingerprint


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter: the hub libraries read HF_HOME once, at import."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=300
    )


def test_local_hub_resolves_through_from_pretrained(local_hub, aclimdb):
    code = f"""
        import json
        from trainables.models.checkpoint import weights_fingerprint
        from trainables.data import DataSpec
        from trainables.data.sources import resolve_sources
        from trainables.data.tokenizer import load_tokenizer
        from trainables.models.classifier import build_model

        sources = resolve_sources("imdb", {str(aclimdb.root)!r})
        spec = DataSpec(dataset="imdb", data_dir={str(aclimdb.root)!r}, max_length=512,
                        tokenizer=sources.tokenizer_name, tokenizer_revision=sources.tokenizer_revision)
        tokenizer = load_tokenizer(spec, train_texts=[])
        model = build_model(len(tokenizer), 2, pretrained=sources.pretrained)
        print(json.dumps({{"headline": sources.headline(), **sources.as_fields(),
                          "vocab": tokenizer.get_vocab(), "weights": weights_fingerprint(model)}}))
    """
    done = run_python(code, local_hub.env())
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["model_source"] == f"{MODEL_ID}@{local_hub.model_revision}"
    assert out["tokenizer_source"] == f"{TOKENIZER_ID}@{local_hub.tokenizer_revision}"
    assert out["data_source"] == f"imdb (aclImdb folder {aclimdb.root})"
    assert "fallback" not in out["headline"]
    cached = load_file(local_hub.snapshot(MODEL_ID) / "model.safetensors")
    assert out["weights"] == weights_fingerprint(cached)
    vocab = (local_hub.snapshot(TOKENIZER_ID) / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert out["vocab"] == {token: i for i, token in enumerate(vocab)}


def test_offline_without_a_cache_falls_back_and_says_so():
    sources = resolve_sources("synthetic")  # tests run with an empty HF_HOME, hub offline
    assert sources.as_fields() == {
        "data_source": "synthetic (generated)",
        "model_source": "seeded-init",
        "tokenizer_source": "wordpiece-synthetic",
    }
    line = sources.headline()
    assert "offline fallback" in line and "HF_HOME" in line and "--data-dir" in line and "\n" not in line


def test_model_source_hub_refuses_to_fall_back():
    from errors import ConfigError

    with pytest.raises(ConfigError, match="--model-source hub: bert-base-uncased is neither on the hub"):
        resolve_sources("synthetic", model_source="hub")
    seeded = resolve_sources("synthetic", model_source="seeded")
    assert seeded.model == "seeded-init"


def test_datasets_does_not_load_imdb_from_the_hub_layout_offline(tmp_path):
    """Why IMDb offline comes from an aclImdb folder: `datasets` 5.2 refuses before reading the hub cache.

    load_dataset("stanfordnlp/imdb") raises OfflineModeIsEnabled before it looks for the dataset card
    in $HF_HOME/hub, and then looks only in the datasets cache ($HF_HOME/datasets/stanfordnlp___imdb).
    """
    revision = "0" * 40
    repo = tmp_path / "hub" / "datasets--stanfordnlp--imdb"
    snapshot = repo / "snapshots" / revision
    (snapshot / "plain_text").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    for split in ("train", "test", "unsupervised"):
        frame = pd.DataFrame({"text": ["a good film", "a bad film"], "label": [1, 0]})
        frame.to_parquet(snapshot / "plain_text" / f"{split}-00000-of-00001.parquet")
    (snapshot / "README.md").write_text(
        "---\nconfigs:\n- config_name: plain_text\n  data_files:\n"
        + "".join(f"  - split: {s}\n    path: plain_text/{s}-*\n" for s in ("train", "test", "unsupervised"))
        + "  default: true\n---\n"
    )
    code = """
        import datasets
        try:
            datasets.load_dataset("stanfordnlp/imdb")
            print("loaded")
        except ConnectionError as error:
            print("refused:", error)
    """
    env = {"HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    done = run_python(code, env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: Couldn't reach 'stanfordnlp/imdb' on the Hub (OfflineModeIsEnabled)" in done.stdout


def test_aclimdb_folder_has_the_archive_layout_and_loads(aclimdb, local_hub):
    root = aclimdb.root
    for name in ("README", "imdb.vocab", "imdbEr.txt"):
        assert (root / name).is_file()
    for split, folders in (("train", ("pos", "neg", "unsup")), ("test", ("pos", "neg"))):
        assert (root / split / "labeledBow.feat").is_file()
        for folder in folders:
            files = sorted((root / split / folder).iterdir())
            assert len(files) == len(aclimdb.reviews[split][folder])
            ratings = {int(f.stem.split("_")[1]) for f in files}
            assert ratings <= (
                {0} if folder == "unsup" else set(range(7, 11)) if folder == "pos" else {1, 2, 3, 4}
            )
            urls = (root / split / f"urls_{folder}.txt").read_text().splitlines()
            assert len(urls) == len(files)
    assert (root / "train" / "unsupBow.feat").is_file()

    data = load_imdb_folder(root.parent)  # the folder holding aclImdb/ works too
    assert data["train"].num_rows == data["test"].num_rows == 320
    assert sorted(data["train"]["label"]) == [0] * 160 + [1] * 160
    tokenizer = BertTokenizer.from_pretrained(local_hub.snapshot(TOKENIZER_ID))
    lengths = [len(tokenizer(text)["input_ids"]) for text in data["test"]["text"]]
    assert sum(n > 512 for n in lengths) == 10 and min(lengths) < 64


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--model-source", "hub"],
            "adls: error: --model-source hub: bert-base-uncased is neither on the hub",
        ),
        (["--model-source", "cache"], "adls: error: --model-source 'cache' is not allowed; choose one of"),
        (["--base-method", "qlora"], "adls: error: --base-method 'qlora' is not allowed; choose one of"),
        (["--train-rows", "1"], "adls: error: --train-rows=1 must be a whole number >= 2"),
    ],
)
def test_bad_source_method_and_rows_options_are_one_line_exit_2(args, message, capsys, tmp_path):
    from adls.cli import main

    command = ["run", "base", "--profile", "smoke", "--dataset", "synthetic", "--storage", str(tmp_path)]
    assert main([*command, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not (tmp_path / "base").exists()
