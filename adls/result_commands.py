"""`adls best` and `adls report`: read-only views of stored results (no Ray, no torch)."""

import argparse
import json
import sys
from typing import Any

from adls.run_options import positive_int


def cmd_best(args: argparse.Namespace) -> int:
    from analysis.best import best_records, format_best
    from analysis.results import load_results

    table = load_results(args.folder)
    records = best_records(table, args.top)
    if args.json:
        json.dump(records, sys.stdout, indent=1)
        print()
    else:
        for line in format_best(records, metric_limit=10, folder=args.folder):
            print(line)
        if "sensitivity" in set(table["experiment"]):
            from analysis.sensitivity import format_sensitivity

            for line in format_sensitivity(table, k=max(3, args.top)):
                print(line)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.report import write_report

    path = write_report(args.results, args.output, top=args.top)
    print(f"{path} (open it in a browser; it needs no network)")
    return 0


def add_result_commands(commands: Any) -> None:
    """Add `best` and `report` to the `adls` parser's subparsers."""
    best = commands.add_parser(
        "best", help="the best trials of a stored experiment: parameters, metrics, checkpoint, rule"
    )
    best.add_argument("folder", help="an experiment folder, e.g. results/lab1-qat")
    best.add_argument("--top", type=positive_int, default=1, help="the K best trials per search (default 1)")
    best.add_argument("--json", action="store_true", help="print JSON (a list of records) instead of text")
    best.set_defaults(func=cmd_best)

    report = commands.add_parser(
        "report", help="one self-contained HTML page of every experiment under a results folder"
    )
    report.add_argument("results", nargs="?", default="results", help="results folder (default results)")
    report.add_argument(
        "-o", "--output", default=None, help="the page to write (default <results>/report.html)"
    )
    report.add_argument(
        "--top", type=positive_int, default=3, help="best trials shown per search (default 3)"
    )
    report.set_defaults(func=cmd_report)
