"""Paths in the results table are stored relative to the experiment folder and resolved on load."""

from pathlib import Path

from analysis.paths import relative_path, resolve_path


def test_paths_inside_the_folder_round_trip_and_others_stay_as_they_are(tmp_path):
    folder = str(tmp_path / "lab1-qat")
    inside = f"{folder}/tune/qat/t0/checkpoint_000000"
    assert relative_path(inside, folder) == "tune/qat/t0/checkpoint_000000"
    assert resolve_path("tune/qat/t0/checkpoint_000000", folder) == str(Path(inside).resolve())
    assert relative_path("/elsewhere/ckpt", folder) == "/elsewhere/ckpt"
    assert resolve_path("/elsewhere/ckpt", folder) == "/elsewhere/ckpt"
    assert relative_path(None, folder) is None and resolve_path(None, folder) is None


def test_uris_of_the_same_storage_are_relative_too():
    folder = "s3://bucket/adls/lab1-qat"
    assert relative_path(f"{folder}/tune/qat/t0/c", folder) == "tune/qat/t0/c"
    assert resolve_path("tune/qat/t0/c", folder) == f"{folder}/tune/qat/t0/c"
    assert resolve_path("gs://other/c", folder) == "gs://other/c"
