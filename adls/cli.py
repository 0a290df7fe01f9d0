"""The `adls` command line: list, run and plot experiments, and reach a cluster (adls/cluster_commands.py)."""

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from adls.cluster_commands import add_cluster_commands
from adls.export_command import add_export_command
from adls.inspect_command import add_inspect_command
from adls.result_commands import add_result_commands
from adls.run_options import add_run_options, options_from, search_options
from errors import ConfigError, ResultsError

EXIT_BAD_INPUT = 2


def cmd_list(args: argparse.Namespace) -> int:
    from search.experiments.registry import EXPERIMENTS, LABS

    for name, experiment in EXPERIMENTS.items():
        needs = f"  (needs {', '.join(experiment.requires)})" if experiment.requires else ""
        print(f"{name:22s} {experiment.lab_task}{needs}")
    for lab, members in LABS.items():
        print(f"{lab:22s} runs {' -> '.join(members)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from search.ray_session.start import stop_ray
    from search.runner import run

    if is_search_file(args.experiment):
        name, options = search_options(args.experiment, args.argv, args.address, args.verbose)
    else:
        name, options = args.experiment, options_from(args, verbose=args.verbose)
    run(name, options)
    stop_ray()
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from search.search_file import default_search_file

    print(default_search_file(args.experiment), end="")
    return 0


def is_search_file(name: str) -> bool:
    """Whether `adls run NAME` names a search file (FILE.toml) rather than an experiment or lab."""
    return name.endswith(".toml")


def cmd_plot(args: argparse.Namespace) -> int:
    from analysis.figures import draw_figures

    paths = draw_figures(args.folder)
    if not paths:
        print(f"{args.folder}: this experiment has no figure; its table is {args.folder}/trials.csv")
    for path in paths:
        print(f"{path} (+ {str(path).rsplit('/', 1)[-1].removesuffix('.png')}.csv)")
    return 0


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the error and where help is), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    # Subcommand parsers are made with the same class (argparse's parser_class default).
    parser = OneLineParser(prog="adls", description=__doc__)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log at INFO level, with Ray's and Optuna's own messages"
    )
    parser.add_argument("--version", action="version", version=f"adls {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("list", help="the experiments and labs, one line each").set_defaults(func=cmd_list)

    run = commands.add_parser(
        "run", help="run an experiment or a lab (lab1, lab2, lab3) as Ray Tune searches"
    )
    run.add_argument(
        "experiment",
        help="an experiment or lab name (see `adls list`), or a search file FILE.toml (`adls show`)",
    )
    add_run_options(run)
    run.add_argument("--address", default=None, help="Ray cluster to join (default: start Ray here)")
    run.set_defaults(func=cmd_run)

    show = commands.add_parser(
        "show", help="the search file of an experiment or lab with every run option at its default"
    )
    show.add_argument("experiment", help="an experiment or lab name (see `adls list`)")
    show.set_defaults(func=cmd_show)

    plot = commands.add_parser("plot", help="draw an experiment's figures + CSV from stored results, no Ray")
    plot.add_argument("folder", help="an experiment folder, e.g. results/lab1-qat")
    plot.set_defaults(func=cmd_plot)

    add_result_commands(commands)
    add_inspect_command(commands)
    add_export_command(commands)
    add_cluster_commands(commands)
    return parser


def package_version() -> str:
    """The installed adls-tune version (`adls --version`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("adls-tune")
    except PackageNotFoundError:
        return "unknown (not installed; pip install -e .)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `adls`: bad input is one line on stderr and exit status 2, no traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `adls`: the help, not an error
        parser.print_help()
        return 0
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if args.command in ("run", "show") and not is_search_file(args.experiment):
            from search.experiments.registry import expand

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
