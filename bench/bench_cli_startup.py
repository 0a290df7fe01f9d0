"""How long `adls --help` and `adls list` take to start, in fresh interpreters (target: under 0.5 s).

Runs `python -m adls --help` and `python -m adls list` alternately, REPEATS times each, and
prints min and median wall time per command. Writes bench/out/cli_startup.json.

    .venv/bin/python bench/bench_cli_startup.py [--repeats N]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {"adls --help": ["--help"], "adls list": ["list"]}
OUT = Path(__file__).resolve().parent / "out" / "cli_startup.json"


def wall_seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "adls", *argv], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, argv in COMMANDS.items():  # alternate, so load changes hit both alike
            times[name].append(wall_seconds(argv))
    baseline = [wall_seconds_python() for _ in range(args.repeats)]
    rows = {name: {"min_s": min(t), "median_s": statistics.median(t)} for name, t in times.items()}
    rows["python -c pass (floor)"] = {"min_s": min(baseline), "median_s": statistics.median(baseline)}
    print(f"{'command':28s} {'min s':>8s} {'median s':>9s}")
    for name, row in rows.items():
        print(f"{name:28s} {row['min_s']:8.3f} {row['median_s']:9.3f}")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"repeats": args.repeats, "results": rows}, indent=2))
    print(f"wrote {OUT}")


def wall_seconds_python() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
