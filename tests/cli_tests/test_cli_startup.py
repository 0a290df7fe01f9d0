"""`adls --help` and `adls list` start without importing torch, transformers or Ray Tune.

Each command runs in a fresh interpreter, which then prints the modules it imported; the
experiment names, lab tasks and requirements come from search/registry.py, not the trial code.
The start time itself is measured by bench/bench_cli_startup.py.
"""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "ray.tune")
SCRIPT = """
import contextlib, io, json, sys
from adls.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        code = main({argv!r})
    except SystemExit as stop:  # --help exits
        code = stop.code
print(json.dumps({{"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}}))
"""


def _imports_after(argv: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(argv=argv)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["list"]])
def test_the_command_starts_without_torch_transformers_or_ray_tune(argv):
    result = _imports_after(argv)
    assert result["code"] == 0 and result["out"]
    heavy = [name for name in result["modules"] if any(name == h or name.startswith(h + ".") for h in HEAVY)]
    assert heavy == []


def test_list_names_every_experiment_with_its_lab_task_and_requirements():
    out = _imports_after(["list"])["out"]
    assert (
        "lab1-qat               Lab 1 task 1: fixed-point width 4..32, PTQ vs QAT accuracy  (needs base)"
        in out
    )
    assert "lab1                   runs base -> lab1-qat -> lab1-prune" in out
    assert len(out.splitlines()) == 10


def test_the_probe_reports_what_a_command_imports():
    # `adls plot` reads a results table, so pandas must show up: the probe is not blind.
    result = _imports_after(["plot", "/nonexistent-adls-folder"])
    assert result["code"] == 2 and "pandas" in result["modules"]
