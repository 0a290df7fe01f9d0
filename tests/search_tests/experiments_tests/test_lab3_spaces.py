"""Lab 3 spaces: one declared space per registered format, every combination valid, define-by-run."""

import itertools

import optuna
import pytest
from torch import nn

from errors import ConfigError
from search.experiments.spaces.precisions import (
    FP32,
    PRECISION_SPACES,
    LayerwiseSpace,
    check_precisions,
    format_config,
    knob_keys,
    layer_keys,
    searchable_formats,
    space_table_markdown,
)
from search.study.samplers import make_sampler
from trainables.compress import LINEAR_FORMATS
from trainables.models.classifier import build_model
from trainables.models.recipe import replace_projections_with_identity


def test_every_registered_format_has_a_declared_space():
    # Read at test time: a format added to the library without a Lab 3 space fails here.
    assert set(PRECISION_SPACES) == set(LINEAR_FORMATS)
    assert searchable_formats() == list(PRECISION_SPACES)


@pytest.mark.parametrize("format_name", sorted(LINEAR_FORMATS))
def test_every_combination_of_a_space_is_a_valid_layer_config(format_name):
    cls = LINEAR_FORMATS[format_name]
    knobs = PRECISION_SPACES[format_name].knobs
    for values in itertools.product(*(knob.choices for knob in knobs.values())):
        config = format_config(format_name)
        for (knob, keys), value in zip(knob_keys(format_name).items(), values, strict=True):
            assert len(knobs[knob].choices) >= 2, "a knob with one choice belongs in `fixed`"
            expands = knobs[knob].expands
            config |= dict(expands[value]) if expands else dict.fromkeys(keys, value)
        cls.check_config(config, "layer")
        layer = cls.from_linear(nn.Linear(32, 16), config, "layer")
        # At most fp32's 32 bits, plus a 32-bit scale per row of 32 weights for some formats.
        assert 0 < layer.weight_bits() / layer.weight.numel() <= 33


def test_layer_keys_short_names_every_linear_of_bert_tiny_and_skip_identity_projections():
    model = build_model(100)
    keys = layer_keys(model)
    assert len(keys) == 14
    assert keys["l0.query"] == "bert.encoder.layer.0.attention.self.query"
    assert keys["l1.attn_out"] == "bert.encoder.layer.1.attention.output.dense"
    assert keys["l1.ffn_in"] == "bert.encoder.layer.1.intermediate.dense"
    assert keys["l1.ffn_out"] == "bert.encoder.layer.1.output.dense"
    assert keys["pooler"] == "bert.pooler.dense" and keys["classifier"] == "classifier"
    replace_projections_with_identity(model, ["key", "value"])
    assert len(layer_keys(model)) == 10 and "l0.key" not in layer_keys(model)


@pytest.mark.parametrize("format_name", ["integer", "block_fp", "ternary"])
def test_define_by_run_space_samples_knobs_only_for_layers_that_chose_the_format(format_name):
    layers = ("l0.query", "l0.key", "pooler", "classifier")
    space = LayerwiseSpace(format_name, layers)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(20):
        trial = study.ask()
        space(trial)
        for layer in layers:
            chosen = trial.params[f"{layer}.type"]
            seen.add(chosen)
            knobs = {k for k in trial.params if k.startswith(f"{layer}.") and k != f"{layer}.type"}
            expected = {f"{layer}.{knob}" for knob in PRECISION_SPACES[format_name].knobs}
            assert knobs == (expected if chosen == format_name else set())
        study.tell(trial, 0.5)
    assert seen == {FP32, format_name}


def test_precision_names_are_checked_before_anything_runs():
    check_precisions(["integer", "log"])
    with pytest.raises(ConfigError, match="unknown format 'float8'"):
        check_precisions(["integer", "float8"])
    with pytest.raises(ConfigError, match="twice"):
        check_precisions(["log", "log"])


def test_the_readme_table_lists_every_format_and_knob():
    table = space_table_markdown()
    for name, space in PRECISION_SPACES.items():
        assert f"| `{name}` |" in table
        for knob in space.knobs:
            assert f"`{knob}`" in table


@pytest.mark.parametrize("sampler_name", ["tpe", "nsga2", "random"])
def test_every_lab3_sampler_searches_the_conditional_space_for_two_objectives(sampler_name):
    # Beyond TPE's 5 random start-up trials and NSGA-II's first generation of 10.
    sampler, _ = make_sampler(sampler_name, seed=0)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    space = LayerwiseSpace("minifloat_ieee", ("l0.query", "l0.key", "l1.ffn_in", "classifier"))
    for number in range(24):
        trial = study.ask()
        space(trial)
        chosen = sum(trial.params[f"{layer}.type"] != FP32 for layer in space.layers)
        study.tell(trial, [0.5 + 0.01 * (number % 5), 32.0 - 4 * chosen])
    assert len(study.best_trials) >= 1


def test_all_layers_mode_fixes_the_types_and_samples_every_layers_knobs():
    layers = ("l0.query", "l1.ffn_out", "pooler", "classifier")
    space = LayerwiseSpace("mxfp", layers, mode="all", fp32_layers=("classifier",))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    constants = space(trial)
    assert constants == {
        "l0.query.type": "mxfp",
        "l1.ffn_out.type": "mxfp",
        "pooler.type": "mxfp",
        "classifier.type": FP32,
    }
    assert set(trial.params) == {"l0.query.element", "l1.ffn_out.element", "pooler.element"}


def test_layers_options_are_checked():
    from search.options import RunOptions

    RunOptions(lab3_layers="all", keep_classifier_fp32=True).validate()
    with pytest.raises(ConfigError, match="--layers 'some' is not allowed"):
        RunOptions(lab3_layers="some").validate()
    with pytest.raises(ConfigError, match="--keep-classifier-fp32 only applies with --layers all"):
        RunOptions(keep_classifier_fp32=True).validate()
