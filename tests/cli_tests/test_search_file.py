"""`adls run FILE.toml` and `adls show`: a search written down once, with the run options' own names."""

import tomllib

import pytest

from adls.cli import main
from adls.run_options import search_options
from search.options import RunOptions
from search.run_plan import RunPlan
from search.search_file import default_search_file, read_search_file


def write(tmp_path, text: str) -> str:
    path = tmp_path / "search.toml"
    path.write_text(text)
    return str(path)


def test_the_default_file_reads_back_as_the_default_options(tmp_path, capsys):
    assert main(["show", "lab3-precisions"]) == 0
    shown = capsys.readouterr().out
    assert shown == default_search_file("lab3-precisions")
    content = tomllib.loads(shown)
    assert content["experiment"] == "lab3-precisions" and "layers" in content["run"]
    assert "# from = ..." in shown and "trial" not in content["run"]  # lab2-nas's own options left out
    found = read_search_file(write(tmp_path, shown))
    assert RunOptions(**found.values) == RunOptions()


def test_flags_on_the_command_line_override_the_file(tmp_path):
    path = write(
        tmp_path,
        'experiment = "lab1-qat"\n[run]\nprofile = "smoke"\nseed = 3\nobjective = ["accuracy", "size"]\n',
    )
    name, options = search_options(path, ["run", path, "--seed", "0", "--force"], None, False)
    assert (
        name == "lab1-qat" and options.profile_name == "smoke" and options.objectives == ("accuracy", "size")
    )
    assert options.seed == 0 and options.force  # given on the command line, even at its default value
    assert options.search_file == open(path).read()


def test_the_file_text_is_part_of_the_identity(tmp_path):
    path = write(tmp_path, 'experiment = "lab1-qat"\n[run]\nprofile = "smoke"\ndataset = "synthetic"\n')
    _, options = search_options(path, [], None, False)
    plain = RunOptions(profile_name="smoke", dataset="synthetic")
    assert RunPlan(options).identity("lab1-qat")["search_file"]
    assert "search_file" not in RunPlan(plain).identity("lab1-qat")


@pytest.mark.parametrize(
    "text, message",
    [
        ('experiment = "lab1-qat"\n[run]\nsede = 3\n', "[run] has no option 'sede'"),
        ('experiment = "lab1-qat"\n[run]\nseed = "three"\n', "seed: 'three' is not a whole number"),
        ('experiment = "lab1-qat"\n[run]\nforce = "yes"\n', "force = 'yes' must be true or false"),
        ('experiment = "lab1-qat"\n[run]\ncpus-per-trial = 1.5\n', "'1.5' is not a whole number"),
        ('experiment = "lab1-qat"\n[trian]\nepochs = 1\n', "unknown key 'trian'"),
        ('experiment = "lab1-qat"\n[train]\nepoch = 1\n', "[train] has no key 'epoch'; choose from epochs,"),
        ('experiment = "lab1-qat"\n[train]\nbatch_size = 0.5\n', "batch_size = 0.5; give an integer >= 1"),
        ('experiment = "lab1-qat"\n[train]\nlr = "fast"\n', "lr = 'fast'; give a learning rate above 0"),
        (
            'experiment = "lab3-mixed"\n[space]\nwidths = [8]\n',
            "no field 'widths'; choose from frac_width, layers, width",
        ),
        ('experiment = "lab3-mixed"\n[space]\nlayers = [3]\n', "give glob patterns of Linear layer names"),
        (
            'experiment = "lab3-precisions"\n[space]\nformats = ["int8"]\n',
            "'int8' is not allowed; give formats from integer, minifloat_denorm",
        ),
        (
            'experiment = "lab3-precisions"\n[space.integer]\nwidths = [8]\n',
            "[space.integer] has no knob 'widths'; choose from width, frac_width",
        ),
        (
            'experiment = "lab3-precisions"\n[space.binary]\nweight_bipolar = [1]\n',
            "1 is not allowed; give true or false",
        ),
        ('experiment = "lab3-precisions"\n[space.mxfp]\nelement = ["E9M9"]\n', "give names from E4M3"),
        (
            'experiment = "lab3-precisions"\n[run]\ndataset = "synthetic"\n[space.minifloat_ieee]\nwidth = [4]\n',
            "[space.minifloat_ieee]: width 4, exponent_width 4 is not a valid layer",
        ),
        (
            'experiment = "lab3-precisions"\n[space.integer]\nwidth = [4]\n',
            "[space.integer] frac_width 8 is above width 4",
        ),
        ('experiment = "lab3-mixed"\n[space]\nwidth = 8\n', "width = 8 must be a non-empty list"),
        (
            'experiment = "lab3-mixed"\n[space]\nwidth = [0, 8]\n',
            "0 is not allowed; give integers from 1 to 64",
        ),
        ('experiment = "lab3-mixed"\n[space]\nfrac_width = [16]\n', "frac_width 16 is above width 8"),
        ('experiment = "lab1-prune"\n[space]\nmethod = ["l2"]\n', "give names from random, l1-norm"),
        ('experiment = "base"\n[space]\nwidth = [8]\n', "this experiment takes no [space]"),
        ('experiment = "lab2-nas"\n[space]\nhidden_size = [0]\n', "give integers from 1 to 65536"),
        ("[run]\nseed = 1\n", "give the experiment"),
        ('experiment = "lab9"\n', "unknown experiment 'lab9'"),
        ("experiment = \n", "is not TOML"),
    ],
)
def test_a_bad_search_file_is_one_line_and_exit_2(tmp_path, capsys, text, message):
    assert main(["run", write(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_file_whose_only_change_is_the_budget_or_a_comment_keeps_its_identity():
    from search.run_plan import search_file_identity

    first = 'experiment = "lab3-mixed"\n[run]\nbudget = 6\nseed = 1\n'
    grown = '# more trials\nexperiment = "lab3-mixed"\n\n[run]\nseed = 1\nbudget = 10\n'
    other_seed = 'experiment = "lab3-mixed"\n[run]\nbudget = 6\nseed = 2\n'
    assert search_file_identity(first) == search_file_identity(grown)
    assert search_file_identity(first) != search_file_identity(other_seed)


def edited(shown: str, replacements: dict[str, str]) -> str:
    """`shown` with each line `key = ...` of `replacements` replaced (the file a user edits)."""
    lines = shown.splitlines()
    for key, line in replacements.items():
        (index,) = [i for i, each in enumerate(lines) if each.startswith(f"{key} = ")]
        lines[index] = line
    return "\n".join(lines) + "\n"


def test_a_shown_file_with_two_space_values_edited_searches_exactly_those(tmp_path, capsys):
    import optuna

    from search.experiments.lab3_mixed import kept_fp32
    from search.experiments.options.space import space_values
    from search.experiments.spaces.layer_patterns import layer_patterns, selected_layers
    from search.experiments.spaces.precisions import LayerwiseSpace

    assert main(["show", "lab3-mixed"]) == 0
    shown = capsys.readouterr().out
    assert tomllib.loads(shown)["space"] == {"width": [8, 16, 32], "frac_width": [2, 4, 8], "layers": ["*"]}
    assert "# lab3_epochs = 0.2" in shown  # [train] shows the profile's values, commented
    edits = {"width": "width = [6, 12]", "frac_width": "frac_width = [3]", "layers": 'layers = ["l0.*"]'}
    path = write(tmp_path, edited(shown, edits))
    name, options = search_options(path, [], None, False)
    space = space_values(options, name)
    assert space == {"width": [6, 12], "frac_width": [3], "layers": ["l0.*"]}
    modules = {
        "l0.query": "bert.encoder.layer.0.attention.self.query",
        "l0.key": "b.l0.key",
        "classifier": "classifier",
    }
    fp32 = kept_fp32(modules, (), selected_layers(modules, layer_patterns(options, name)))
    assert fp32 == ("classifier",)
    knobs = tuple((k, tuple(space[k])) for k in ("width", "frac_width"))
    searched = LayerwiseSpace("integer", tuple(modules), fp32_layers=fp32, choices=knobs)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda trial: bool(searched(trial)) and 0.0, n_trials=40)
    widths = {v for t in study.trials for k, v in t.params.items() if k.endswith(".width")}
    fracs = {v for t in study.trials for k, v in t.params.items() if k.endswith(".frac_width")}
    assert widths == {6, 12} and fracs == {3}
    assert not any(k.startswith("classifier.") for t in study.trials for k in t.params)  # left out: fp32
    assert searched(optuna.create_study().ask()) == {"classifier.type": "fp32"}
    unedited = write(tmp_path, shown)
    assert RunPlan(options).identity(name) != RunPlan(search_options(unedited, [], None, False)[1]).identity(
        name
    )


def edited_in_table(shown: str, table: str, key: str, line: str) -> str:
    """`shown` with the line `key = ...` of TOML table `table` replaced."""
    lines = shown.splitlines()
    start = lines.index(f"[{table}]")
    index = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(f"{key} = "))
    assert not any(each.startswith("[") for each in lines[start + 1 : index])
    lines[index] = line
    return "\n".join(lines) + "\n"


def test_lab3_precisions_shows_its_space_and_a_file_edited_in_two_values_searches_those(tmp_path, capsys):
    from search.experiments.lab3_precisions import formats, knob_choices
    from search.experiments.spaces.precisions import PRECISION_SPACES, searchable_formats

    assert main(["show", "lab3-precisions"]) == 0
    shown = capsys.readouterr().out
    space = tomllib.loads(shown)["space"]
    assert space["formats"] == searchable_formats() and space["layers"] == ["*"]
    for name in searchable_formats():  # every format's knobs, at its declared values
        assert space[name] == {k: list(knob.choices) for k, knob in PRECISION_SPACES[name].knobs.items()}
    text = edited_in_table(shown, "space", "formats", 'formats = ["integer", "mxfp"]')
    text = edited_in_table(text, "space.integer", "width", "width = [8, 12]")
    name, options = search_options(write(tmp_path, text), [], None, False)
    assert name == "lab3-precisions" and formats(options) == ["integer", "mxfp"]
    assert knob_choices(options, "integer") == {"width": [8, 12], "frac_width": [2, 4, 8]}
    assert knob_choices(options, "mxfp") == {
        "element": list(PRECISION_SPACES["mxfp"].knobs["element"].choices)
    }
    _, flagged = search_options(write(tmp_path, text), ["--precisions", "log"], None, False)
    assert formats(flagged) == ["log"]  # the flag overrides the file
    _, mode = search_options(write(tmp_path, text), ["--layers", "all"], None, False)
    assert mode.lab3_layers == "all" and options.lab3_layers == "choose"


def test_layer_patterns_match_short_or_module_names_and_a_stray_one_is_named():
    from errors import ConfigError
    from search.experiments.spaces.layer_patterns import selected_layers

    layers = {
        "l0.attention.q_lin": "distilbert.transformer.layer.0.attention.q_lin",
        "l1.attention.q_lin": "distilbert.transformer.layer.1.attention.q_lin",
        "l1.ffn.lin1": "distilbert.transformer.layer.1.ffn.lin1",
        "pre_classifier": "pre_classifier",
        "classifier": "classifier",
    }
    assert selected_layers(layers, ["l1.*"]) == ("l1.attention.q_lin", "l1.ffn.lin1")
    assert selected_layers(layers, ["*.layer.0.*", "classifier"]) == ("l0.attention.q_lin", "classifier")
    with pytest.raises(
        ConfigError, match=r"'\*\.query' matches no Linear layer of the model; its layers are "
    ):
        selected_layers(layers, ["l0.*", "*.query"])


def test_a_layer_pattern_that_matches_nothing_stops_the_run_before_anything_runs(tmp_path, capsys):
    storage = tmp_path / "runs"
    text = (
        'experiment = "lab3-mixed"\n[run]\nprofile = "smoke"\ndataset = "synthetic"\n'
        f'storage = "{storage}"\n[space]\nlayers = ["l0.*", "l7.*"]\n'
    )
    assert main(["run", write(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert "'l7.*' matches no Linear layer" in err and "l0.query" in err and "pooler" in err
    assert err.count("\n") == 1
    assert not (storage / "base").exists()  # base, which lab3-mixed needs, never started


def test_lab1_grids_and_training_come_from_the_file(tmp_path):
    from search.experiments.lab1_prune import prune_grid
    from search.experiments.lab1_qat import qat_grid

    text = (
        'experiment = "lab1"\n[run]\nprofile = "smoke"\ndataset = "synthetic"\n'
        "[train]\nepochs = 0.5\nbatch_size = 8\n[space]\nwidth = [6, 10]\nsparsity = [0.25]\n"
    )
    _, options = search_options(write(tmp_path, text), [], None, False)
    assert qat_grid(options) == {"width": [6, 10], "frac_ratio": [0.5]}
    assert prune_grid(options) == {"sparsity": [0.25], "method": ["random", "l1-norm"]}
    settings = options.train_settings()
    assert settings["epochs"] == 0.5 and settings["batch_size"] == 8 and settings["lr"] == 1e-3
    other = text.replace("batch_size = 8", "batch_size = 16")
    _, changed = search_options(write(tmp_path, other), [], None, False)
    assert RunPlan(options).identity("lab1-qat") != RunPlan(changed).identity("lab1-qat")


def test_lab2_nas_searches_the_files_sizes_and_refuses_an_invalid_bert(tmp_path):
    from errors import ConfigError
    from search.experiments.lab2_nas import nas_variants
    from search.experiments.spaces.nas import space_for

    text = (
        'experiment = "lab2-nas"\n[run]\nprofile = "smoke"\ndataset = "synthetic"\ntrial = "surrogate"\n'
        "[space]\nhidden_size = [32]\nnum_hidden_layers = [3]\n"
    )
    _, options = search_options(write(tmp_path, text), [], None, False)
    (variant, *_) = nas_variants(options)
    assert variant.space["hidden_size"].categories == [32]
    assert variant.space["num_hidden_layers"].categories == [3]
    assert variant.space["num_attention_heads"].categories == [2, 4]  # the profile's, not edited
    bad = text.replace("hidden_size = [32]", "hidden_size = [66]")
    _, options = search_options(write(tmp_path, bad), [], None, False)
    with pytest.raises(ConfigError, match="hidden_size 66 is not a multiple of 4 heads"):
        space_for(options)


def test_sensitivity_seeds_stay_inside_the_files_space():
    from search.experiments.spaces.sensitivity_seeds import seeded_configs

    seeds = seeded_configs(["a", "b", "c"], choices={"width": [6, 12], "frac_width": [3]})
    assert {v for seed in seeds for k, v in seed.items() if k.endswith(".width")} == {6, 12}
    assert {v for seed in seeds for k, v in seed.items() if k.endswith(".frac_width")} == {3}
