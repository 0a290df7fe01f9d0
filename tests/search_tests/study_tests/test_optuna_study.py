"""Every search keeps its Optuna study in a database: optuna.load_study reads what trials.parquet holds."""

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from errors import ConfigError
from search.options import RunOptions
from search.runner import run
from search.study.database import TUNE_TRIAL_ID, check_fresh, open_storage, storage_url

# A progress line of the grid search with at least one trial completed by Tune.
# The searches share one Tuner (search/run/searches_together.py), which fills the grid search first.
GRID_TRIAL_DONE = re.compile(rb"^\[lab2-nas \(3 searches\)\] [1-9]\d*/\d+ finished \([1-9]")
NAS_PARAMS = ("num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size")


def assert_study_matches_table(url: str, table: pd.DataFrame, metric: str) -> None:
    """Per search: the study's finished trials are exactly the table's rows (params and values)."""
    for study_name, rows in table.groupby("optuna_study"):
        study = optuna.load_study(study_name=study_name, storage=url)
        complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        by_tune_id = {trial.user_attrs[TUNE_TRIAL_ID]: trial for trial in complete}
        assert sorted(by_tune_id) == sorted(rows["trial_id"]), study_name
        assert study.metric_names == [metric]
        for row in rows.to_dict("records"):
            trial = by_tune_id[row["trial_id"]]
            assert trial.value == pytest.approx(row[metric])
            for name, value in trial.params.items():
                assert row[name] == value, (study_name, name)


def test_smoke_search_study_loads_with_the_table_trials(ray_session, tmp_path):
    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path), max_concurrent=2)
    table = run("lab2-nas", options)["lab2-nas"]

    url = f"sqlite:///{tmp_path}/lab2-nas/optuna.db"
    assert storage_url(str(tmp_path / "lab2-nas"), None) == url
    names = optuna.study.get_all_study_names(storage=url)
    assert sorted(names) == ["lab2-nas/grid", "lab2-nas/random", "lab2-nas/tpe"]
    assert_study_matches_table(url, table, "accuracy")
    assert set(NAS_PARAMS) <= set(optuna.load_study(study_name="lab2-nas/tpe", storage=url).best_params)

    # A new run must not append to this run's studies (a shared --optuna-storage would).
    with pytest.raises(ConfigError, match="already holds 2 trials"):
        check_fresh(url, "lab2-nas/tpe")


def test_interrupted_search_continues_the_same_study(ray_session, tmp_path):
    argv = [sys.executable, "-m", "adls", "run", "lab2-nas", "--profile", "smoke"]
    argv += ["--dataset", "synthetic", "--storage", str(tmp_path), "--max-concurrent", "1"]
    driver = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "RAY_ADDRESS": ""},
    )
    url = f"sqlite:///{tmp_path}/lab2-nas/optuna.db"
    # Ctrl-C once Tune has completed a grid trial (its progress line says so): a checkpoint on disk
    # only says the trial reported, and a trial Tune has not completed is not in the study.
    lines: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in driver.stdout], daemon=True)
    reader.start()
    seen: list[bytes] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not any(GRID_TRIAL_DONE.match(line) for line in seen):
            try:
                seen.append(lines.get(timeout=0.2))
            except queue.Empty:
                if driver.poll() is not None:
                    break
        assert driver.poll() is None, "the run ended before a grid trial was seen to finish"
        assert any(GRID_TRIAL_DONE.match(line) for line in seen), "no grid trial finished before the deadline"
        driver.send_signal(signal.SIGINT)
        driver.wait(timeout=120)
        reader.join(timeout=30)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    while not lines.empty():
        seen.append(lines.get())
    output = b"".join(seen)
    assert driver.returncode != 0, output.decode()[-2000:]
    before = optuna.load_study(study_name="lab2-nas/grid", storage=url).get_trials()
    done_before = {t.user_attrs[TUNE_TRIAL_ID]: t.params for t in before if t.state.is_finished()}
    assert done_before, output.decode()[-2000:]

    options = RunOptions(profile_name="smoke", dataset="synthetic", storage=str(tmp_path), max_concurrent=1)
    table = run("lab2-nas", options)["lab2-nas"]

    assert_study_matches_table(url, table, "accuracy")
    after = optuna.load_study(study_name="lab2-nas/grid", storage=url).get_trials()
    # The same study continued: the trials finished before the interruption are still its own.
    assert {t.user_attrs[TUNE_TRIAL_ID]: t.params for t in after if t.number < len(before)} == {
        t.user_attrs[TUNE_TRIAL_ID]: t.params for t in before
    }
    assert not [t for t in after if t.state == optuna.trial.TrialState.RUNNING]
    grid = table[table["variant"] == "grid"]
    assert len(grid) == 2 and set(done_before) <= set(grid["trial_id"])


def test_readme_visualization_command_runs_on_a_stored_study(tmp_path):
    """The README's optuna.visualization line, run on a study written as a search writes it."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    command = next(
        line for line in readme.splitlines() if line.startswith("python -c") and "load_study" in line
    )
    folder = tmp_path / "results" / "lab2-nas"
    url = storage_url(str(folder), None)
    study = optuna.create_study(study_name="lab2-nas/tpe", storage=open_storage(url), direction="maximize")
    for value in (0.5, 0.7, 0.6):
        trial = study.ask({"hidden_size": optuna.distributions.CategoricalDistribution([64, 128])})
        study.tell(trial, value)
    subprocess.run([sys.executable, *shlex.split(command)[1:]], cwd=tmp_path, check=True, timeout=120)
    assert (tmp_path / "tpe.png").stat().st_size > 0
