"""The run options every way of running an experiment shares (`adls run`, `adls submit`), both ways.

`add_run_options` puts them on a parser and `options_from` turns parsed arguments into RunOptions;
`run_arguments` turns parsed arguments back into the command-line words that differ from the
defaults (what a cluster job's `adls run` is given). The allowed values come from search.options.
"""

import argparse
import math

from search.options import (
    DATASETS,
    LAB3_LAYER_MODES,
    OBJECTIVES,
    PRECISIONS,
    SAMPLERS,
    SCHEDULERS,
    START_CHOICES,
    TRIAL_KINDS,
    RunOptions,
)
from search.profiles import PROFILES
from search.run.callbacks import CALLBACKS
from search.schedulers.early_stopping import SHA_BATCH


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be a whole number >= 1")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number >= 0")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be a whole number >= 0")
    return value


def count_or_all(text: str) -> str:
    """A whole number >= 1 or 'all', kept as text so that a cluster job gets the same words."""
    return "all" if text == "all" else str(positive_int(text))


def _number(text: str, kind: type):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a {'whole ' if kind is int else ''}number"
        ) from None


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options every way of running an experiment shares (run, submit)."""
    parser.add_argument(
        "--profile",
        default="quick",
        choices=list(PROFILES),
        help="smoke (CI, seconds), quick (CPU, minutes, default), full (the labs' sizes)",
    )
    parser.add_argument(
        "--storage", default="results", help="results folder or URI (s3://, gs://); default results"
    )
    parser.add_argument(
        "--cpus-per-trial", type=positive_int, default=1, help="CPUs (torch threads) per trial"
    )
    parser.add_argument(
        "--gpus-per-trial",
        type=non_negative_float,
        default=0.0,
        help="GPU share per trial; fractions let trials share a GPU",
    )
    parser.add_argument(
        "--max-concurrent", type=positive_int, default=None, help="trials at once (default: fill the CPUs)"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--data-dir", default=None, help="aclImdb folder for IMDb (implies --dataset imdb)")
    parser.add_argument(
        "--dataset",
        default=None,
        choices=list(DATASETS),
        help="override the profile's dataset",
    )
    parser.add_argument(
        "--train-rows",
        type=positive_int,
        default=None,
        help="cap the training rows (stratified, deterministic)",
    )
    parser.add_argument("--test-rows", type=positive_int, default=None, help="cap the test rows (stratified)")
    # Their allowed values live with what they mean (trainables/data/sources.py, trainables/models/base_methods.py)
    # and RunOptions.validate checks them: importing those here would load torch for `adls --help`.
    parser.add_argument(
        "--model-source",
        default="auto",
        help="auto (the hub or its local cache, else a seeded init, said in the run's first line), "
        "hub (refuse to fall back) or seeded",
    )
    parser.add_argument(
        "--base-method",
        default=None,
        help="how base fine-tunes: full, frozen-embeddings or lora (default: the profile's; full profile: lora)",
    )
    parser.add_argument("--force", action="store_true", help="rerun even if matching results are stored")
    parser.add_argument("--repeats", type=positive_int, default=1, help="run each sampler K times (lab2-nas)")
    parser.add_argument("--sampler", default=None, help=f"override the sampler ({', '.join(SAMPLERS)})")
    parser.add_argument(
        "--precision", default="fp32", choices=list(PRECISIONS), help="bf16: bfloat16 autocast (GPUs)"
    )
    parser.add_argument("--compile", action="store_true", help="train through torch.compile")
    parser.add_argument(
        "--keep-checkpoints",
        type=count_or_all,
        default="1",
        help="checkpoints kept per search: the best K (default 1) or 'all'; those a later stage loads stay",
    )
    parser.add_argument(
        "--keep-previous",
        type=non_negative_int,
        default=1,
        help="earlier results folders (<name>.previous*) kept when a run replaces one (default 1)",
    )
    parser.add_argument(
        "--scheduler",
        default="fifo",
        help=f"{' or '.join(SCHEDULERS)}: asha stops unpromising trials early (lab2-*, lab3-*; not grids); "
        f"sha is synchronous successive halving in batches of {SHA_BATCH}: trials pause at 1/4, the best of "
        "each batch finishes",
    )
    parser.add_argument(
        "--from", dest="start_from", default=None, choices=list(START_CHOICES), help="Lab 3 starting model"
    )
    parser.add_argument("--precisions", default=None, help="comma list of formats for lab3-precisions")
    parser.add_argument(
        "--objective", default="accuracy", help=f"{OBJECTIVES[0]}, or {','.join(OBJECTIVES)} (two objectives)"
    )
    parser.add_argument(
        "--layers",
        dest="lab3_layers",
        default="choose",
        choices=list(LAB3_LAYER_MODES),
        help="lab3-precisions: each Linear chooses fp32 or the format (choose), or every Linear takes it (all)",
    )
    parser.add_argument(
        "--keep-classifier-fp32",
        action="store_true",
        help="with --layers all: leave the classifier in fp32",
    )
    parser.add_argument(
        "--mase-exact",
        action="store_true",
        help="quantize with MASE's own values where adls deliberately differs (docs/formats.md)",
    )
    parser.add_argument(
        "--optuna-storage",
        default=None,
        help="SQLAlchemy URL of a shared Optuna study database (postgresql://...); "
        "default: <storage>/<experiment>/optuna.db",
    )
    parser.add_argument(
        "--optuna-study-prefix",
        default=None,
        help="prefix of the study names (<prefix>/<experiment>/<variant>), e.g. your name in a shared database",
    )
    parser.add_argument(
        "--budget",
        type=positive_int,
        default=None,
        help="trials per Lab 2 search or per lab3-precisions format (default: the profile's)",
    )
    parser.add_argument(
        "--trial",
        default="real",
        choices=list(TRIAL_KINDS),
        help="surrogate: a rehearsal that sleeps instead of training (lab2-nas; bench/bench_scale.py)",
    )
    parser.add_argument(
        "--surrogate-seconds",
        type=non_negative_float,
        default=2.0,
        help="how long a surrogate trial sleeps",
    )
    parser.add_argument(
        "--callbacks",
        default=None,
        help=f"Ray Tune logger callbacks, comma list of {','.join(CALLBACKS)} (each needs its package)",
    )


def options_from(args: argparse.Namespace, verbose: bool = False) -> RunOptions:
    """The RunOptions the parsed run options say (not yet validated); `verbose` is `adls -v`."""
    return RunOptions(
        profile_name=args.profile,
        storage=args.storage,
        address=getattr(args, "address", None),
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        max_concurrent=args.max_concurrent,
        seed=args.seed,
        data_dir=args.data_dir,
        dataset=args.dataset,
        force=args.force,
        train_rows=args.train_rows,
        test_rows=args.test_rows,
        model_source=args.model_source,
        base_method=args.base_method,
        repeats=args.repeats,
        sampler=args.sampler,
        scheduler=args.scheduler,
        precision=args.precision,
        compile=args.compile,
        keep_checkpoints=None if args.keep_checkpoints == "all" else int(args.keep_checkpoints),
        keep_previous=args.keep_previous,
        start_from=args.start_from,
        precisions=tuple(p.strip() for p in args.precisions.split(",") if p.strip())
        if args.precisions
        else None,
        objectives=tuple(o.strip() for o in args.objective.split(",") if o.strip()),
        lab3_layers=args.lab3_layers,
        keep_classifier_fp32=args.keep_classifier_fp32,
        mase_exact=args.mase_exact,
        optuna_storage=args.optuna_storage,
        optuna_study_prefix=args.optuna_study_prefix,
        budget=args.budget,
        trial=args.trial,
        surrogate_seconds=args.surrogate_seconds,
        callbacks=tuple(c.strip() for c in (args.callbacks or "").split(",") if c.strip()),
        verbose=verbose,
    )


def run_arguments(args: argparse.Namespace) -> list[str]:
    """The run options in `args` that differ from their defaults, as command-line words.

    Built from `add_run_options` itself, so an option added there is forwarded without more code.
    """
    reference = argparse.ArgumentParser(add_help=False)
    add_run_options(reference)
    words: list[str] = []
    for action in reference._actions:  # argparse has no public iterator over a parser's options
        if not action.option_strings or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if value is None or value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        if isinstance(action, argparse._StoreTrueAction):
            words.append(flag)
        else:
            words += [flag, str(value)]
    return words
