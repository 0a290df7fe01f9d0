"""Checkpoints others can open: Hugging Face's from_pretrained for fp32 models, load_model for every model."""

import tempfile

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from trainables.compress import fixed_point_config, quantize_model
from trainables.models.checkpoint import HF_WEIGHTS_FILE, WEIGHTS_FILE, load_model
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.trial_context import local_context
from trainables.trial_steps import open_data, save_checkpoint

SMALL_ARCH = {"num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 32, "intermediate_size": 64}


def _saved(smoke_config, tmp_path, quantized: bool):
    data = open_data(smoke_config)
    recipe = ModelRecipe(data.prepared.vocab_size, data.prepared.num_labels, arch=SMALL_ARCH, seed=3)
    model = build_from_recipe(recipe)
    if quantized:
        recipe.quantization = fixed_point_config(8, 4)
        quantize_model(model, recipe.quantization)
    path = save_checkpoint(model, recipe, local_context(tmp_path), data)
    return model.eval(), path, data


def test_an_fp32_checkpoint_opens_with_hugging_face_alone(smoke_config, tmp_path):
    model, path, data = _saved(smoke_config, tmp_path, quantized=False)
    assert (path / HF_WEIGHTS_FILE).is_file() and not (path / WEIGHTS_FILE).exists()

    tokenizer = AutoTokenizer.from_pretrained(path)
    opened = AutoModelForSequenceClassification.from_pretrained(path).eval()
    ours, _ = load_model(path)
    batch = tokenizer(["a fine film", "dull and long"], return_tensors="pt", padding=True)
    with torch.no_grad():
        expected = model(**batch).logits
        torch.testing.assert_close(opened(**batch).logits, expected)
        torch.testing.assert_close(ours.eval()(**batch).logits, expected)
    assert tokenizer.vocab_size == data.prepared.vocab_size
    # The same tokenizer the trial trained with: same ids for the same text.
    trained = AutoTokenizer.from_pretrained(data.prepared.tokenizer_dir)
    assert tokenizer("a fine film")["input_ids"] == trained("a fine film")["input_ids"]


def test_a_quantized_checkpoint_opens_with_load_model_also_from_a_uri(smoke_config, tmp_path, monkeypatch):
    model, path, _ = _saved(smoke_config, tmp_path, quantized=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert (path / WEIGHTS_FILE).is_file()
    with pytest.raises((OSError, ValueError)):  # our quantized layers are not a Hugging Face architecture
        AutoModelForSequenceClassification.from_pretrained(path)
    loaded, recipe = load_model(f"file://{path}")
    assert list(scratch.iterdir()) == []  # the local copy of the URI's files is gone after loading
    assert recipe.quantization == fixed_point_config(8, 4)
    ids = torch.tensor([[2, 5, 7, 3]])
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(input_ids=ids).logits, model(input_ids=ids).logits)
