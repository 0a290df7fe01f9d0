"""adls export's pieces on a tiny in-memory BERT: on-grid weights, load_compressed, ONNX in ONNX Runtime, MASE args."""

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from errors import ConfigError
from trainables.compress.format_examples import example_config
from trainables.compress.registry import LINEAR_FORMATS
from trainables.models.export import export_hf, load_compressed, mase_pass_args, mase_prune_args, write_mase
from trainables.models.export.mase_config import to_toml
from trainables.models.export.onnx_graph import export_onnx, onnx_ready
from trainables.models.recipe import ModelRecipe, build_from_recipe

ARCH = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16}
INTEGER = {
    "by": "type",
    "default": {"config": {"name": None}},
    "linear": {
        "config": {
            "name": "integer",
            "data_in_width": 6,
            "data_in_frac_width": 3,
            "weight_width": 12,
            "weight_frac_width": 8,
            "bias_width": 8,
            "bias_frac_width": 4,
        }
    },
}
PRUNING = {
    "weight": {"sparsity": 0.5, "method": "l1-norm", "scope": "local"},
    "activation": {"sparsity": 0.3, "method": "l1-norm", "scope": "local"},
}
ROOT = Path(__file__).resolve().parents[2]


def tiny(quantization=INTEGER, pruning=PRUNING, identity=()):
    recipe = ModelRecipe(
        vocab_size=50,
        arch=ARCH,
        quantization=quantization,
        pruning=pruning,
        identity_projections=list(identity),
    )
    return build_from_recipe(recipe).eval(), recipe


def batch(rows: int = 3, length: int = 9) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(1, 50, (rows, length), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[0, length // 2 :] = 0
    return ids, mask


@torch.no_grad()
def logits(model, ids, mask):
    return model(input_ids=ids, attention_mask=mask).logits


def test_hf_folder_holds_on_grid_pruned_weights_and_load_compressed_is_exact(tmp_path):
    model, recipe = tiny()
    written = export_hf(model, recipe, tmp_path)
    assert {p.name for p in written} >= {"config.json", "model.safetensors", "compression.safetensors"}
    from safetensors.torch import load_file

    weight = load_file(tmp_path / "model.safetensors")["bert.encoder.layer.0.attention.self.query.weight"]
    assert torch.equal(weight * 256, torch.round(weight * 256))  # on the 2^-8 grid
    assert (weight == 0).float().mean() >= 0.5  # the pruned half stays zero
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["adls_compression"]["recipe"]["quantization"] == INTEGER
    rebuilt, _ = load_compressed(tmp_path)
    ids, mask = batch()
    assert torch.equal(logits(rebuilt, ids, mask), logits(model, ids, mask))


def test_identity_projections_become_identity_matrices(tmp_path):
    model, recipe = tiny(identity=["output"])
    export_hf(model, recipe, tmp_path)
    from transformers import AutoModelForSequenceClassification

    plain = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert torch.equal(plain.bert.encoder.layer[0].attention.output.dense.weight, torch.eye(16))
    rebuilt, _ = load_compressed(tmp_path)
    ids, mask = batch()
    assert torch.equal(logits(rebuilt, ids, mask), logits(model, ids, mask))


def test_plain_model_of_weight_only_quantization_computes_like_the_compressed_one(tmp_path):
    weight_only = {"by": "type", "linear": {"config": {"name": "minifloat_ieee", **_weight_only_minifloat()}}}
    model, recipe = tiny(quantization=weight_only, pruning={"weight": PRUNING["weight"]})
    export_hf(model, recipe, tmp_path)
    from transformers import AutoModelForSequenceClassification

    plain = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    ids, mask = batch()
    torch.testing.assert_close(logits(plain, ids, mask), logits(model, ids, mask), rtol=0, atol=1e-6)


def _weight_only_minifloat():
    """The example minifloat with its input at 32 bits, exponent 8: every float32 value is on that grid."""
    config = dict(example_config("minifloat_ieee"))
    config.pop("name")
    config.pop("data_in_exponent_bias", None)
    return {**config, "data_in_width": 32, "data_in_exponent_width": 8}


def test_onnx_has_qdq_integer_layers_and_matches_pytorch_in_onnx_runtime(tmp_path):
    import onnx
    import onnxruntime

    model, _ = tiny()
    path = tmp_path / "model.onnx"
    plan = export_onnx(model, path)
    graph = onnx.load(path).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("QuantizeLinear") == len(plan.qdq_layers) == 8  # 6 encoder Linears, pooler, classifier
    int_initializers = {
        i.name: i.data_type for i in graph.initializer if i.data_type != onnx.TensorProto.FLOAT
    }
    assert onnx.TensorProto.INT16 in int_initializers.values()  # 12-bit weights
    assert onnx.TensorProto.INT8 in int_initializers.values()  # 8-bit biases
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for rows, length in ((1, 5), (4, 17)):  # dynamic batch and sequence axes
        ids, mask = batch(rows, length)
        got = session.run(["logits"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
        np.testing.assert_allclose(got, logits(model, ids, mask).numpy(), rtol=0, atol=1e-5)


def test_onnx_of_a_wide_fixed_point_runs_in_onnx_runtime(tmp_path):
    import onnxruntime

    wide = {
        "by": "type",
        "linear": {
            "config": {
                **INTEGER["linear"]["config"],
                "data_in_width": 24,
                "weight_width": 24,
                "bias_width": 32,
            }
        },
    }
    model, _ = tiny(quantization=wide, pruning=None)
    plan = export_onnx(model, tmp_path / "model.onnx")
    assert "fp32" in " ".join(plan.notes)
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    ids, mask = batch()
    got = session.run(["logits"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    np.testing.assert_allclose(got, logits(model, ids, mask).numpy(), rtol=0, atol=1e-5)


def test_onnx_refuses_stochastic_formats_and_random_activation_pruning():
    stochastic = {
        "by": "type",
        "linear": {"config": {"name": "binary", "weight_stochastic": True, "weight_bipolar": True}},
    }
    with pytest.raises(ConfigError, match="stochastic=true draws random values"):
        onnx_ready(tiny(quantization=stochastic, pruning=None)[0])
    random_pruning = {"activation": {"sparsity": 0.3, "method": "random", "scope": "local"}}
    with pytest.raises(ConfigError, match="export this trial --to hf"):
        onnx_ready(tiny(pruning=random_pruning)[0])


def _mase_keys_from_formats_doc() -> dict[str, set[str]]:
    """{format: the config keys docs/formats.md's MASE column names}, `<t>_` expanded per tensor."""
    keys: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "formats.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) < 4 or not cells[1].startswith("`") or cells[1] == "name":
            continue
        names = re.findall(r"`([^`]+)`", cells[1])
        found = set()
        for key in re.findall(r"`([a-z_<>]+)`", cells[2]):
            if key in keys:  # "same as `minifloat_denorm`"
                found |= keys[key]
            elif "<t>_" in key:
                found |= {key.replace("<t>_", t) for t in ("data_in_", "weight_", "bias_")}
            else:
                found.add(key)
        for name in names:
            if name in LINEAR_FORMATS:
                keys.setdefault(name, set()).update(found, {"name"})
    return keys


@pytest.mark.parametrize("format_name", sorted(LINEAR_FORMATS))
def test_mase_pass_args_use_the_mase_keys_of_docs_formats(format_name):
    documented = _mase_keys_from_formats_doc()
    assert set(documented) == set(LINEAR_FORMATS)
    quantization = {"by": "type", "linear": {"config": example_config(format_name)}}
    model, _ = tiny(quantization=quantization, pruning=None)
    args = mase_pass_args(model)
    assert args["by"] == "name" and args["default"] == {"config": {"name": None}}
    entries = {key: value for key, value in args.items() if key not in ("by", "default")}
    assert "bert_encoder_layer_0_attention_self_query" in entries
    for entry in entries.values():
        config = entry["config"]
        assert config["name"] == format_name
        assert set(config) <= documented[format_name], set(config) - documented[format_name]


def test_mase_files_read_back_and_prune_args_refuse_what_mase_lacks(tmp_path):
    model, recipe = tiny()
    written = write_mase(model, recipe.pruning, tmp_path)
    assert [p.name for p in written] == [
        "mase_quantize.toml",
        "mase_quantize.json",
        "mase_prune.toml",
        "mase_prune.json",
    ]
    from_toml = tomllib.loads((tmp_path / "mase_quantize.toml").read_text())
    from_json = json.loads((tmp_path / "mase_quantize.json").read_text())
    assert from_toml["default"]["config"]["name"] == "NA" and from_json["default"]["config"]["name"] is None
    assert (
        from_toml["bert_encoder_layer_0_attention_self_query"]
        == from_json["bert_encoder_layer_0_attention_self_query"]
    )
    prune = tomllib.loads((tmp_path / "mase_prune.toml").read_text())
    assert prune["weight"] == {
        "sparsity": 0.5,
        "method": "l1-norm",
        "scope": "local",
        "granularity": "elementwise",
    }
    assert mase_prune_args({"weight": PRUNING["weight"]})["activation"]["sparsity"] == 0.0
    with pytest.raises(ConfigError, match="no activation method 'random_fixed'"):
        mase_prune_args({"activation": {"sparsity": 0.2, "method": "random_fixed"}})
    assert tomllib.loads(to_toml({"a": {"b": [1, 2], "c": 1.5e-5, "d": True}})) == {
        "a": {"b": [1, 2], "c": 1.5e-5, "d": True}
    }
