"""docs/cluster.md shows exactly the commands the cluster tests run, and every `adls` line in it parses."""

import re
import shlex
from pathlib import Path

from search.cli import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "cluster.md"


def _command_lines() -> list[str]:
    blocks = re.findall(r"```\n(.*?)```", DOC.read_text(), re.S)
    return [" ".join(line.split()) for block in blocks for line in block.splitlines() if line.strip()]


def test_every_command_the_cluster_tests_run_is_in_the_document(documented_commands):
    lines = _command_lines()
    missing = [
        command for command in documented_commands if not any(line.startswith(command) for line in lines)
    ]
    assert missing == []


def test_every_adls_command_in_the_document_parses():
    parser = build_parser()
    adls_lines = [line for line in _command_lines() if line.startswith("adls ")]
    assert len(adls_lines) >= 8
    for line in adls_lines:
        parser.parse_args(shlex.split(line)[1:])  # SystemExit (a failed test) on a typo
