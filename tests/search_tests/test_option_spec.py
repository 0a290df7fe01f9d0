"""Every run option is declared once, on its RunOptions field; parser, job words and file keys follow from it."""

import dataclasses
import inspect

import pytest

import adls.run_options
from adls.cli import build_parser
from adls.run_options import options_from, run_arguments
from errors import ConfigError
from search.experiments.registry import EXPERIMENTS
from search.option_spec import declared_options, defaults, run_option
from search.options import RunOptions

NOT_FLAGS = {"address", "verbose", "extra", "search_file"}  # --address, `adls -v`, benches, FILE.toml


def test_every_field_but_three_is_a_declared_option_with_a_unique_flag():
    declared = declared_options(RunOptions)
    assert set(declared) == {f.name for f in dataclasses.fields(RunOptions)} - NOT_FLAGS
    flags = [option.flag for option in declared.values()]
    assert len(set(flags)) == len(flags) and all(flag.startswith("--") for flag in flags)
    assert declared["start_from"].key == "from" and declared["cpus_per_trial"].key == "cpus-per-trial"
    assert all(owner in EXPERIMENTS for option in declared.values() for owner in option.owners)
    assert (
        declared["precisions"].owners == ("lab3-precisions", "sensitivity") and declared["seed"].owners == ()
    )


def test_the_parser_the_options_and_the_job_words_agree_for_every_option():
    """Every option set away from its default survives args -> RunOptions -> words -> args."""
    argv = ["run", "lab3-precisions", "--profile", "smoke", "--storage", "s3://b/r", "--cpus-per-trial", "2"]
    argv += ["--gpus-per-trial", "0.5", "--max-concurrent", "3", "--seed", "7", "--data-dir", "/data"]
    argv += ["--dataset", "imdb", "--force", "--repeats", "2", "--sampler", "tpe", "--from", "base"]
    argv += ["--precisions", "log,integer", "--objective", "accuracy,size", "--layers", "all"]
    argv += ["--keep-classifier-fp32", "--mase-exact", "--optuna-storage", "sqlite:////x.db"]
    argv += ["--optuna-study-prefix", "me", "--scheduler", "asha", "--train-rows", "40", "--test-rows", "20"]
    argv += ["--model-source", "seeded", "--base-method", "lora", "--budget", "5", "--trial", "surrogate"]
    argv += ["--surrogate-seconds", "0.5", "--callbacks", "mlflow", "--keep-checkpoints", "all"]
    argv += ["--keep-previous", "0", "--precision", "bf16", "--compile"]
    argv += ["--model", "/m", "--tokenizer", "/t", "--text-column", "a,b", "--label-column", "y"]
    argv += ["--dataset-config", "c", "--train-split", "tr", "--test-split", "te", "--test-fraction", "0.3"]
    argv += ["--constraint", "avg_linear_bits<=6", "--seed-from", "sensitivity"]
    args = build_parser().parse_args(argv)
    options = options_from(args)
    changed = {name for name, default in defaults(RunOptions).items() if getattr(options, name) != default}
    assert changed == set(declared_options(RunOptions))  # the argv above sets every option
    assert options.keep_checkpoints is None and options.precisions == ("log", "integer")
    rerun = build_parser().parse_args(["run", "lab3-precisions", *run_arguments(args)])
    assert options_from(rerun) == options
    assert run_arguments(build_parser().parse_args(["run", "lab1-qat"])) == []


def test_validate_runs_each_declared_check_and_the_choices():
    with pytest.raises(ConfigError, match=r"--scheduler 'nope' is not allowed; choose one of"):
        RunOptions(scheduler="nope").validate()
    with pytest.raises(ConfigError, match=r"--keep-checkpoints=0 must be >= 1 or 'all'"):
        RunOptions(keep_checkpoints=0).validate()
    with pytest.raises(ConfigError, match="only applies with --layers all"):
        RunOptions(keep_classifier_fp32=True).validate()


def test_the_command_line_reads_no_private_argparse_state():
    assert "_actions" not in inspect.getsource(adls.run_options)


def test_a_mutable_default_is_refused_where_it_is_declared():
    with pytest.raises(TypeError, match="immutable default"):
        run_option("--things", [])


def test_samplers_and_schedulers_are_built_from_the_declared_names():
    from search.options import SAMPLERS, SCHEDULERS
    from search.schedulers.early_stopping import SCHEDULER_FACTORIES
    from search.study.samplers import SAMPLER_FACTORIES

    assert tuple(SAMPLER_FACTORIES) == SAMPLERS and tuple(SCHEDULER_FACTORIES) == SCHEDULERS
