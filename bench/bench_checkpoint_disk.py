"""Disk of `adls run lab1` with every checkpoint kept against the default (--keep-checkpoints 1).

Runs the lab (base -> lab1-qat -> lab1-prune) twice in one Ray session, into two fresh storage
folders: once with `keep_checkpoints=None` (all, as before) and once with the default. Prints,
per experiment, the bytes on disk, the checkpoints left and the ratio; writes
bench/out/checkpoint_disk.json. Target: the default uses at least 5x less disk on `quick`.

    PYTHONPATH=. .venv/bin/python bench/bench_checkpoint_disk.py [--profile quick|smoke]
        [--train-rows N --test-rows N]

The row caps shorten every trial without changing what is kept: the number of trials (the
profile's grids) and the model's shape are the profile's, so a checkpoint's size changes only
with the WordPiece vocabulary learnt from fewer rows (the table prints the sizes).
"""

import argparse
import json
import os
import shutil
from pathlib import Path

from search.options import RunOptions
from search.runner import run

OUT = Path(__file__).parent / "out"
TARGET = 5.0


def disk(folder: Path) -> tuple[int, int]:
    """(bytes, checkpoint folders) under `folder`."""
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
    return size, sum(1 for _ in folder.rglob("checkpoint_0*"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--train-rows", type=int, default=None, help="cap the training rows (faster trials)")
    parser.add_argument("--test-rows", type=int, default=None, help="cap the test rows")
    args = parser.parse_args()
    caps = {"train_rows": args.train_rows, "test_rows": args.test_rows}
    root = OUT / "checkpoint_disk"
    shutil.rmtree(root, ignore_errors=True)
    kinds = {"all": None, "default": RunOptions().keep_checkpoints}
    sizes: dict[str, dict[str, tuple[int, int]]] = {}
    for kind, keep in kinds.items():
        storage = root / kind
        run(
            "lab1",
            RunOptions(profile_name=args.profile, storage=str(storage), keep_checkpoints=keep, **caps),
        )
        sizes[kind] = {name: disk(storage / name) for name in sorted(os.listdir(storage))}
    print(
        f"profile={args.profile} {caps}: `adls run lab1`, every checkpoint kept vs --keep-checkpoints "
        f"{kinds['default']}"
    )
    print(f"{'experiment':12s} {'all MB':>8s} {'ckpts':>6s} {'default MB':>11s} {'ckpts':>6s} {'ratio':>6s}")
    rows = {}
    for name in sizes["all"]:
        (big, n_big), (small, n_small) = sizes["all"][name], sizes["default"][name]
        rows[name] = {
            "all_bytes": big,
            "all_checkpoints": n_big,
            "default_bytes": small,
            "default_checkpoints": n_small,
        }
        print(f"{name:12s} {big / 1e6:8.1f} {n_big:6d} {small / 1e6:11.1f} {n_small:6d} {big / small:6.1f}")
    total_big = sum(r["all_bytes"] for r in rows.values())
    total_small = sum(r["default_bytes"] for r in rows.values())
    ratio = total_big / total_small
    print(
        f"{'total':12s} {total_big / 1e6:8.1f} {'':6s} {total_small / 1e6:11.1f} {'':6s} {ratio:6.1f}  "
        f"(target >= {TARGET:g}x: {'ok' if ratio >= TARGET else 'MISS'})"
    )
    (OUT / "checkpoint_disk.json").write_text(
        json.dumps(
            {"profile": args.profile, **caps, "experiments": rows, "ratio": ratio, "target": TARGET}, indent=1
        )
    )


if __name__ == "__main__":
    main()
