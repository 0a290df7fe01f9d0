"""`adls fetch`: results from cluster storage to a local folder, without checkpoints, never clobbering."""

import json

import pandas as pd
import pyarrow.fs
import pytest

from adls.cli import main
from analysis import load_results
from cluster.fetch import copy_tree
from errors import ClusterError
from search.run.results_table import write_table


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
    assert not (local / "base.previous").exists()  # the same run fetched again is completed in place


def test_a_refetch_deletes_nothing(tmp_path):
    storage, local = tmp_path / "storage", tmp_path / "results"
    _stored_run(storage, 1.0)
    assert main(["fetch", "base", "--storage", str(storage), "--to", str(local), "--with-checkpoints"]) == 0
    checkpoint = local / "base" / "tune" / "base" / "trial_0" / "checkpoint_000000" / "model.safetensors"
    (local / "base" / "notes.txt").write_text("mine")
    # The same run again, without checkpoints: the checkpoint fetched earlier and the user's file stay.
    assert main(["fetch", "base", "--storage", str(storage), "--to", str(local)]) == 0
    assert checkpoint.is_file() and (local / "base" / "notes.txt").read_text() == "mine"
    assert not (local / "base.previous").exists()
    # A local file of the run that was edited is not overwritten: the whole copy is moved aside.
    (local / "base" / "trials.csv").write_text("edited")
    assert main(["fetch", "base", "--storage", str(storage), "--to", str(local)]) == 0
    assert (local / "base.previous" / "trials.csv").read_text() == "edited"
    assert (local / "base.previous" / "notes.txt").read_text() == "mine"
    assert (local / "base" / "trials.csv").read_text() != "edited"
    leftovers = [p.name for p in local.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_stored_name_that_leads_outside_the_destination_is_refused(tmp_path):
    # An object store can hold any key, `..` included; pyarrow's in-memory filesystem can too.
    memory = pyarrow.fs._MockFileSystem()
    memory.create_dir("bucket/adls/lab1-qat/../..", recursive=True)
    for key in ("bucket/adls/lab1-qat/trials.parquet", "bucket/adls/lab1-qat/../../escaped.txt"):
        with memory.open_output_stream(key) as writer:
            writer.write(b"x")
    staging = tmp_path / "results" / "staging"
    staging.mkdir(parents=True)
    with pytest.raises(ClusterError, match=r"refusing to fetch 'bucket/adls/lab1-qat/\.\./\.\./escaped.txt'"):
        copy_tree(memory, "bucket/adls/lab1-qat", staging, with_checkpoints=True)
    assert list(tmp_path.rglob("escaped.txt")) == []
    assert list(staging.iterdir()) == []  # refused before anything was copied
    # The same store without the bad key copies normally.
    memory.delete_file("bucket/adls/lab1-qat/../../escaped.txt")
    assert copy_tree(memory, "bucket/adls/lab1-qat", staging, with_checkpoints=True) == 1
    assert (staging / "trials.parquet").read_bytes() == b"x"


def test_a_file_as_destination_is_one_line_and_exit_2(tmp_path, capsys):
    storage = tmp_path / "storage"
    _stored_run(storage, 1.0)
    (tmp_path / "afile").write_text("keep")
    assert main(["fetch", "base", "--storage", str(storage), "--to", str(tmp_path / "afile")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file, not a folder" in err
    assert (tmp_path / "afile").read_text() == "keep"


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
