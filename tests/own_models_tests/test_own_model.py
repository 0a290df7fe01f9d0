"""A run's own model: tiny DistilBERT, RoBERTa and ALBERT load, train, quantize and inspect by their own layer names."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from adls.cli import main
from search.experiments.spaces.precisions import layer_keys
from search.options import RunOptions
from tests.own_models_tests.tiny_models import FAMILIES, HUB_IDS, linear_count
from trainables.compress import fixed_point_config, quantize_model
from trainables.models.checkpoint import load_model
from trainables.models.families import FAMILIES as SEARCHED
from trainables.models.nas_arch import arch_from_params
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import local_context
from trainables.trials.lab1_qat import lab1_qat_trial

REPO = Path(__file__).resolve().parents[2]


def _options(tiny_models, family: str, **extra) -> RunOptions:
    return RunOptions(profile_name="smoke", model=str(tiny_models.folders[family]), **extra)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_pretrained_weights_load_and_every_linear_quantizes(tiny_models, family):
    sources = _options(tiny_models, family, dataset="synthetic").sources()
    assert sources.model_type == family and sources.model == str(tiny_models.folders[family])
    recipe = ModelRecipe(
        vocab_size=sources.model_config["vocab_size"],
        num_labels=2,
        pretrained=sources.pretrained,
        model_config=sources.model_config,
    )
    model = build_from_recipe(recipe, pretrained=True)
    saved = type(model).from_pretrained(tiny_models.folders[family])
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), saved.state_dict().values(), strict=True)
    )
    linears = linear_count(tiny_models.folders[family])
    names = layer_keys(model)
    assert len(names) == linears and all(not n.startswith("bert.") for n in names.values())
    quantize_model(model, fixed_point_config(8, 4))
    assert sum(type(m) is nn.Linear for m in model.modules()) == 0
    assert sum(hasattr(m, "config") and isinstance(m, nn.Linear) for m in model.modules()) == linears
    # Only BERT trains with our attention; the run's first line says which one trains.
    assert f"the {family} model's own" in sources.headline()


def test_a_distilbert_base_and_qat_trial_on_a_three_class_csv(tiny_models, data_files, tmp_path, capsys):
    options = _options(
        tiny_models, "distilbert", dataset=str(data_files["csv"]), text_column="review", label_column="stars"
    )
    config = {
        "data": options.data_settings(),
        "train": options.train_settings(),
        "seed": 0,
        "model_config": options.sources().model_config,
    }
    from trainables.trials.base import base_trial

    base_ctx = local_context(tmp_path / "base")
    base = base_trial(
        {**config, "base_epochs": 1, "base_method": "full", "pretrained": options.sources().pretrained},
        base_ctx,
    )
    assert 0 <= base["macro_f1"] <= 1 and base["majority_accuracy"] < 0.5  # three classes
    checkpoint = base_ctx.work_dir / "checkpoint"
    qat_ctx = local_context(tmp_path / "qat")
    qat = lab1_qat_trial(
        {
            **config,
            "base_checkpoint": str(checkpoint),
            "fp32_accuracy": base["accuracy"],
            "width": 8,
            "frac_ratio": 0.5,
        },
        qat_ctx,
    )
    assert qat["cost_avg_linear_bits"] == 8 and "macro_f1" in qat
    model, recipe = load_model(qat_ctx.work_dir / "checkpoint")
    assert recipe.num_labels == 3 and recipe.model_type == "distilbert"
    assert len(recipe.quantization) and sum(type(m) is nn.Linear for m in model.modules()) == 0
    assert len(layer_keys(model)) == linear_count(tiny_models.folders["distilbert"])
    capsys.readouterr()
    assert main(["inspect", str(qat_ctx.work_dir / "checkpoint")]) == 0
    out = capsys.readouterr().out
    assert "DistilBertForSequenceClassification, distilbert family, 3 classes" in out.splitlines()[0]
    assert "distilbert.transformer.layer.0.attention.q_lin " in out and "pre_classifier " in out
    assert "bert.encoder" not in out


def test_nas_searches_each_family_under_its_own_field_names(tiny_models):
    from search.experiments.spaces.nas import space_for

    for family in FAMILIES:
        space = space_for(_options(tiny_models, family, dataset="synthetic"))
        fields = SEARCHED[family].shape_fields
        assert list(space.grid())[:4] == list(fields)
        params = {name: values[-1] for name, values in space.grid().items()}
        arch, identity = arch_from_params(params, SEARCHED[family])
        assert set(arch) == set(fields) and identity == []
    assert "n_layers" in space_for(_options(tiny_models, "distilbert", dataset="synthetic")).grid()


def test_the_hub_cache_layout_resolves_through_from_pretrained(tiny_models):
    """HF_HOME prefilled and HF_HUB_OFFLINE=1: each hub id resolves to its cached snapshot (fresh process)."""
    code = (
        "from search.options import RunOptions\n"
        "import sys\n"
        "for repo in sys.argv[1:]:\n"
        "    s = RunOptions(profile_name='smoke', dataset='synthetic', model=repo).sources()\n"
        "    print(s.model_type, s.model, s.tokenizer_name)\n"
    )
    env = {**tiny_models.env(dict(os.environ)), "PYTHONPATH": str(REPO)}
    ran = subprocess.run(
        [sys.executable, "-c", code, *HUB_IDS.values()], env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    for line, family in zip(lines, FAMILIES, strict=True):
        assert line == f"{family} {HUB_IDS[family]}@{tiny_models.revisions[family]} pretrained"


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


@pytest.fixture
def bad_models(tiny_models, tmp_path) -> dict[str, str]:
    """A vision model (not a sequence classifier) and an ELECTRA classifier (a family Lab 2 does not search)."""
    from transformers import ElectraConfig, ViTConfig

    vision, electra = tmp_path / "vit", tmp_path / "electra"
    ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2).save_pretrained(vision)
    tokenizer = tiny_models.folders["distilbert"]
    vocab = json.loads((tokenizer / "config.json").read_text())["vocab_size"]
    ElectraConfig(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=1, num_attention_heads=2
    ).save_pretrained(electra)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer / name, electra / name)
    return {"vit": str(vision), "electra": str(electra)}


BAD = [
    (["--model", "{vit}"], "is a 'vit' model, which AutoModelForSequenceClassification cannot build"),
    (
        ["--model", "{electra}", "--model-source", "seeded", "lab2-nas"],
        "lab2-nas/lab2-compress-aware cannot search",
    ),
    (
        ["--model", "{electra}", "--model-source", "seeded", "lab2-compress-aware"],
        "searches the bert, distilbert",
    ),
    (["--dataset", "{csv}"], "has no column 'text'"),
    (["--dataset", "{one_class}"], "label column 'label' has 1 class (pos)"),
    (["--dataset", "{empty}"], "is empty"),
    (["--dataset", "{xlsx}"], "is not a supported file type"),
    (["--tokenizer", "{vit}"], "--tokenizer goes with --model"),
    (["--text-column", "review"], "--text-column is read only with a --dataset file"),
]


@pytest.mark.parametrize(("words", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_model_or_data_is_one_line_exit_2_and_nothing_stored(
    words, message, bad_models, data_files, tmp_path, capsys
):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "one.csv").write_text("text,label\ngood,pos\nfine,pos\ngreat,pos\n")
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    names = {
        **bad_models,
        "csv": data_files["csv"],
        "empty": tmp_path / "empty.csv",
        "one_class": tmp_path / "one.csv",
        "xlsx": tmp_path / "sheet.xlsx",
    }
    words = [w.format(**names) for w in words]
    experiment = words.pop() if words[-1].startswith("lab2") else "base"
    storage = tmp_path / "results"
    before = _snapshot(tmp_path)
    code = main(["run", experiment, "--profile", "smoke", "--storage", str(storage), *words])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and message in err, err
    assert not storage.exists() and _snapshot(tmp_path) == before
