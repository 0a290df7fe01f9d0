"""`adls fetch`: results from cluster storage to a local folder, without checkpoints, never clobbering."""

import json

import pandas as pd

from analysis import load_results
from search.cli import main
from search.results_table import write_table


def _stored_run(storage, seconds: float) -> None:
    folder = storage / "base"
    write_table(
        [
            {
                "experiment": "base",
                "variant": "base",
                "repeat": 0,
                "trial_index": 0,
                "status": "TERMINATED",
                "accuracy": 0.75,
                "node": "10.0.0.2",
                "device": "cuda",
            }
        ],
        str(folder),
    )
    (folder / "run.json").write_text(json.dumps({"identity": {"experiment": "base"}, "seconds": seconds}))
    checkpoint = folder / "tune" / "base" / "trial_0" / "checkpoint_000000"
    checkpoint.mkdir(parents=True)
    (checkpoint / "model.safetensors").write_bytes(b"\0" * 1024)


def test_fetch_copies_the_table_but_not_the_checkpoints(tmp_path, capsys):
    storage, local = tmp_path / "storage", tmp_path / "results"
    _stored_run(storage, 1.0)
    assert main(["fetch", "base", "--storage", str(storage), "--to", str(local)]) == 0
    assert f"[base] results in {local / 'base'}" in capsys.readouterr().out
    table = load_results(local / "base")
    pd.testing.assert_frame_equal(table, load_results(storage / "base"))
    assert (local / "base" / "run.json").is_file() and (local / "base" / "trials.csv").is_file()
    assert not (local / "base" / "tune").exists()

    assert main(["fetch", "base", "--storage", str(storage), "--to", str(local), "--with-checkpoints"]) == 0
    assert (
        local / "base" / "tune" / "base" / "trial_0" / "checkpoint_000000" / "model.safetensors"
    ).is_file()
    assert not (local / "base.previous").exists()  # the same run fetched again is refreshed in place


def test_a_different_local_copy_is_moved_aside_not_overwritten(tmp_path):
    storage, local = tmp_path / "storage", tmp_path / "results"
    _stored_run(storage, 1.0)
    assert main(["fetch", "base", "--storage", str(storage), "--to", str(local)]) == 0
    (local / "base" / "notes.txt").write_text("mine")
    _stored_run(tmp_path / "storage2", 2.0)
    assert main(["fetch", "base", "--storage", str(tmp_path / "storage2"), "--to", str(local)]) == 0
    assert (local / "base.previous" / "notes.txt").read_text() == "mine"
    assert json.loads((local / "base" / "run.json").read_text())["seconds"] == 2.0


def test_missing_results_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["fetch", "lab1", "--storage", str(tmp_path), "--to", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert "no finished results of 'base'" in err and "adls jobs" in err and err.count("\n") == 1
    assert not (tmp_path / "results" / "base").exists()
