"""The `adls` command line: list, run and plot experiments (and reach a cluster, see cluster/)."""

import argparse
import logging
import sys
from collections.abc import Sequence

from analysis.results import ResultsError
from search.profiles import PROFILES
from trainables.compress.errors import ConfigError

EXIT_BAD_INPUT = 2


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be a whole number >= 1")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be >= 0")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be a whole number >= 0")
    return value


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
        choices=["rotten_tomatoes", "imdb", "synthetic"],
        help="override the profile's dataset",
    )
    parser.add_argument("--force", action="store_true", help="rerun even if matching results are stored")
    parser.add_argument("--repeats", type=positive_int, default=1, help="run each sampler K times (lab2-nas)")
    parser.add_argument("--sampler", default=None, help="override the sampler (grid, tpe, random, nsga2)")
    parser.add_argument(
        "--from", dest="start_from", default=None, choices=["base", "lab2-nas"], help="Lab 3 starting model"
    )
    parser.add_argument("--precisions", default=None, help="comma list of formats for lab3-precisions")
    parser.add_argument("--objective", default="accuracy", help="accuracy, or accuracy,size (two objectives)")


def options_from(args: argparse.Namespace):
    from search.options import RunOptions

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
        repeats=args.repeats,
        sampler=args.sampler,
        start_from=args.start_from,
        precisions=tuple(p.strip() for p in args.precisions.split(",") if p.strip())
        if args.precisions
        else None,
        objectives=tuple(o.strip() for o in args.objective.split(",") if o.strip()),
    )


def cmd_list(args: argparse.Namespace) -> int:
    from search.registry import EXPERIMENTS, LABS

    for name, experiment in EXPERIMENTS.items():
        needs = f"  (needs {', '.join(experiment.requires)})" if experiment.requires else ""
        print(f"{name:22s} {experiment.lab_task}{needs}")
    for lab, members in LABS.items():
        print(f"{lab:22s} runs {' -> '.join(members)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from search.runner import run

    run(args.experiment, options_from(args))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from analysis.figures import draw_figures

    paths = draw_figures(args.folder)
    if not paths:
        print(f"{args.folder}: this experiment has no figure; its table is {args.folder}/trials.csv")
    for path in paths:
        print(f"{path} (+ {path.with_suffix('.csv').name})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adls", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("list", help="the experiments and labs, one line each").set_defaults(func=cmd_list)

    run = commands.add_parser(
        "run", help="run an experiment or a lab (lab1, lab2, lab3) as Ray Tune searches"
    )
    run.add_argument("experiment", help="an experiment or lab name (see `adls list`)")
    add_run_options(run)
    run.add_argument("--address", default=None, help="Ray cluster to join (default: start Ray here)")
    run.set_defaults(func=cmd_run)

    plot = commands.add_parser("plot", help="draw an experiment's figures + CSV from stored results, no Ray")
    plot.add_argument("folder", help="an experiment folder, e.g. results/lab1-qat")
    plot.set_defaults(func=cmd_plot)

    try:
        from cluster.commands import add_cluster_commands
    except ImportError:  # the cluster layer is optional on a stripped-down install
        add_cluster_commands = None
    if add_cluster_commands:
        add_cluster_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `adls`: bad input is one line on stderr and exit status 2, no traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "run":
            from search.registry import expand

            expand(args.experiment)  # name errors before anything heavy is imported
        return args.func(args)
    except (ConfigError, ResultsError) as error:
        print(f"adls: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("adls: interrupted; stored results are kept, rerun to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
