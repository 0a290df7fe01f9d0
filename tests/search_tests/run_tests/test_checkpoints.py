"""--keep-checkpoints and --keep-previous: what is kept, what the table says, what is deleted."""

import os
import time

import pandas as pd

from analysis.best import best_trials
from search import storage
from search.run.checkpoints import delete_checkpoints, drop_checkpoints


def rows_with_folders(tmp_path, mode_of_a="max"):
    rows = []
    for index, (name, accuracy, status) in enumerate(
        [("a", 0.7, "TERMINATED"), ("a", 0.9, "TERMINATED"), ("a", 0.8, "TERMINATED"),
         ("a", None, "STOPPED"), ("b", 0.6, "TERMINATED"), ("b", 0.6, "TERMINATED")]
    ):  # fmt: skip
        folder = tmp_path / f"trial{index}" / "checkpoint_000000"
        folder.mkdir(parents=True)
        (folder / "model.pt").write_bytes(b"x" * 100)
        rows.append(
            {"variant": name, "repeat": 0, "trial_index": index, "accuracy": accuracy, "status": status,
             "checkpoint": None if status == "STOPPED" else str(folder), "objective": "accuracy",
             "objective_mode": mode_of_a if name == "a" else "max"}
        )  # fmt: skip
    return rows


def test_the_best_per_search_and_the_loaded_ones_keep_their_checkpoint(tmp_path):
    rows = rows_with_folders(tmp_path)
    loaded = [rows[2]["checkpoint"]]  # a later stage starts from trial 2 (e.g. a tie-break rule)
    dropped = drop_checkpoints(rows, 1, loaded)
    kept = [row["trial_index"] for row in rows if row["checkpoint"]]
    assert kept == [1, 2, 4]  # best of a, the loaded one, best of b (the earlier of a tie)
    assert delete_checkpoints(dropped) == 2
    existing = [i for i in range(6) if os.path.isdir(tmp_path / f"trial{i}" / "checkpoint_000000")]
    assert existing == [1, 2, 3, 4]  # trial 3 (stopped) never had a checkpoint in the table


def test_among_equals_the_ranked_first_and_the_loaded_one_both_keep_theirs(tmp_path):
    rows = rows_with_folders(tmp_path)  # trials 4 and 5 of search b tie at 0.6
    drop_checkpoints(rows, 1, [rows[5]["checkpoint"]])
    assert [row["trial_index"] for row in rows if row["checkpoint"]] == [1, 4, 5]


def test_all_keeps_everything_and_min_mode_keeps_the_lowest(tmp_path):
    rows = rows_with_folders(tmp_path, mode_of_a="min")
    assert drop_checkpoints(rows, None, []) == []
    drop_checkpoints(rows, 2, [])
    assert [row["trial_index"] for row in rows if row["checkpoint"]] == [0, 2, 4, 5]


def test_only_the_newest_previous_folders_are_kept(tmp_path):
    folder = tmp_path / "lab1-qat"
    for run in range(3):
        folder.mkdir()
        (folder / "run.json").write_text(str(run))
        moved = storage.move_aside(str(folder), "previous")
        os.utime(moved, (time.time() + run, time.time() + run))  # the later run is newer
    (tmp_path / "lab1-qat.previousish").mkdir()  # not ours: never touched
    deleted = storage.prune_aside(str(folder), "previous", 1)
    assert len(deleted) == 2
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["lab1-qat.previous-3", "lab1-qat.previousish"]
    assert (tmp_path / "lab1-qat.previous-3" / "run.json").read_text() == "2"


def test_among_equals_without_a_loader_the_trial_adls_best_shows_keeps_its_checkpoint(tmp_path):
    rows = rows_with_folders(tmp_path)  # trials 4 and 5 of search b tie at 0.6
    rows[4]["cost_weight_bits"], rows[5]["cost_weight_bits"] = 32_000, 8_000
    drop_checkpoints(rows, 1, [])
    kept = [row for row in rows if row["checkpoint"]]
    assert [row["trial_index"] for row in kept] == [1, 5]
    table = pd.DataFrame([row for row in rows if row["variant"] == "b"])
    assert best_trials(table)["trial_index"].tolist() == [5]


def test_every_trial_adls_best_top_k_shows_keeps_its_checkpoint_across_repeats(tmp_path):
    """Two repeats of one variant: best_trials ranks across them, so its top K all keep theirs."""
    rows = rows_with_folders(tmp_path)
    for row in rows[:3]:
        row["repeat"] = 1  # search a, repeat 1: 0.7, 0.9, 0.8; repeat 0: trial 3 (stopped)
    rows[3].update(status="TERMINATED", accuracy=0.85, checkpoint=rows[2]["checkpoint"] + "-r0")
    drop_checkpoints(rows, 2, [])
    table = pd.DataFrame(rows)
    shown = best_trials(table, k=2)
    assert shown["checkpoint"].notna().all(), shown[["variant", "trial_index", "checkpoint"]]
    assert set(shown[shown["variant"] == "a"]["trial_index"]) == {1, 3}
