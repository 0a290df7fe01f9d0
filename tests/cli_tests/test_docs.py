"""The documents show exactly the commands the cluster tests run, and every `adls` line in them parses.

README.md keeps a newcomer's commands; the cluster rehearsal and `ray up` live in docs/cluster.md.
"""

import shlex
from pathlib import Path

from adls.cli import build_parser
from tests.documented_commands import DOCUMENTED

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", ROOT / "docs" / "cluster.md", ROOT / "docs" / "results.md")


def _command_lines() -> list[str]:
    """Every line inside the documents' fenced code blocks, whitespace-normalised."""
    lines = []
    for doc in DOCS:
        if not doc.is_file():
            continue
        inside = False
        for line in doc.read_text().splitlines():
            if line.startswith("```"):
                inside = not inside
            elif inside and line.strip():
                lines.append(" ".join(line.split()))
    return lines


def test_every_command_the_cluster_tests_run_is_in_the_document():
    lines = _command_lines()
    documented_commands = [" ".join(command) for command in DOCUMENTED]
    missing = [
        command for command in documented_commands if not any(line.startswith(command) for line in lines)
    ]
    assert missing == []


def test_every_adls_command_in_the_document_parses():
    parser = build_parser()
    adls_lines = [line for line in _command_lines() if line.startswith("adls ")]
    assert len(adls_lines) >= 8
    for line in adls_lines:
        parser.parse_args(_adls_arguments(line))  # SystemExit (a failed test) on a typo


def _adls_arguments(line: str) -> list[str]:
    """The arguments `adls` itself receives: the shell's redirections and pipes are not its to parse."""
    words = shlex.split(line, comments=True)[1:]
    for index, word in enumerate(words):
        if word in SHELL_OPERATORS or word.startswith((">", "2>")):
            return words[:index]
    return words


SHELL_OPERATORS = {">", ">>", "|", "&&", "||", ";", "2>&1"}
