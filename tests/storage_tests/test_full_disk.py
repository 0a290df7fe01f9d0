"""A storage that fills up: a small tmpfs mounted for the test (needs root, as CI runs)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.storage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 1 MiB tmpfs: room for the driver's files (~250 KB), not for a smoke base checkpoint (2 MB)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def adls_run(storage: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_ADDRESS": "", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "adls", "run", "base", "--profile", "smoke", "--dataset", "synthetic"]
    return subprocess.run(
        [*argv, "--storage", str(storage)], env=env, capture_output=True, text=True, timeout=900
    )


def test_a_full_disk_fails_the_trial_says_so_in_one_line_and_a_rerun_after_freeing_space_resumes(small_disk):
    storage = small_disk / "results"
    full = adls_run(storage)
    errors = [line for line in full.stderr.splitlines() if line.startswith("adls: error")]
    assert full.returncode == 2 and len(errors) == 1, full.stderr[-3000:]
    assert "no space left on the storage writing" in errors[0] and "run the same command again" in errors[0]
    folder = storage / "base"
    # The trial failed with the reason; its cut-short checkpoint copy is there, and half a table is not.
    [trial] = (folder / "tune" / "base").glob("base_trial_*")
    # Tune's error.txt holds the reason when there was room for it; its log always does.
    assert "No space left on device" in (trial / "error.txt").read_text() + full.stderr + full.stdout
    assert (trial / "checkpoint_000000").is_dir()
    assert sorted(p.name for p in folder.iterdir()) == ["optuna.db", "tune"]
    assert not list(storage.glob("*.tmp-*"))

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)  # space freed
    rerun = adls_run(storage)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    # The partial checkpoint was not counted as finished: the trial was moved aside and ran again.
    assert "resuming the interrupted search" in rerun.stdout and "0 trials finished" in rerun.stdout
    assert (folder / "tune" / "base.interrupted" / trial.name / "checkpoint_000000").is_dir()
    table = pd.read_parquet(folder / "trials.parquet")
    assert list(table["status"]) == ["TERMINATED"]
