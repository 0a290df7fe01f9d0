"""The project against a real S3 server on loopback, reached as a user reaches AWS (the AWS variables).

One smoke `adls run lab1` (base -> lab1-qat -> lab1-prune, chained through s3:// checkpoints) is
shared by the read-only commands; the resume and lock tests use their own prefixes.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pyarrow.fs
import pytest

from analysis.results import load_results
from search import storage
from search.run.halving_resume import plan_resume
from search.run.lock import OBJECT_STORE_SETTLE_S, ExperimentLock
from search.run.resume import InterruptedSearch, interrupted_search
from search.schedulers.halving_state import STATE_FILE, read_state, state_location, write_state
from tests.search_tests.schedulers_tests.test_halving_state import _dead_driver_state
from tests.storage_tests.s3_server import aws_environment, create_bucket, s3_files, s3_server
from trainables.ray_adapter import _carry_on
from trainables.train_snapshot import SNAPSHOT_FILE
from trainables.trial_keys import RESULT_FILE

pytestmark = pytest.mark.storage

BUCKET = "adls-test"
ROOT = f"s3://{BUCKET}/adls"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """The server's endpoint, with the AWS variables set and the bucket made."""
    with s3_server(tmp_path_factory.mktemp("moto")) as endpoint, aws_environment(endpoint):
        create_bucket(BUCKET, endpoint)
        yield endpoint


def adls(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_ADDRESS": "", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "adls", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def lab1(s3, tmp_path_factory):
    """`adls run lab1 --profile smoke --storage s3://...` run from an empty folder; that folder."""
    cwd = tmp_path_factory.mktemp("lab1-cwd")
    done = adls("run", "lab1", "--profile", "smoke", "--storage", ROOT, cwd=cwd)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return cwd


def test_lab1_runs_on_s3_and_chains_its_stages_through_s3_checkpoints(lab1):
    stored = s3_files(ROOT)
    for name in ("base", "lab1-qat", "lab1-prune"):
        assert f"{name}/trials.parquet" in stored and f"{name}/run.json" in stored
    assert "lab1-qat/lab1-qat.png" in stored  # figures beside the data, in the bucket
    qat = load_results(f"{ROOT}/lab1-qat")
    prune = load_results(f"{ROOT}/lab1-prune")
    assert qat["checkpoint"].dropna().str.startswith(f"{ROOT}/lab1-qat/tune/").all()
    # The later stage loaded its start model from s3:// (trainables/checkpoint.load_model on a URI).
    [start] = prune["start_checkpoint"].unique()
    assert start.startswith(f"{ROOT}/lab1-qat/tune/") and start in set(qat["checkpoint"])
    assert (prune["status"] == "TERMINATED").all()
    assert list(lab1.iterdir()) == []  # nothing local: no results/, no folder named s3:


def test_best_inspect_report_and_plot_read_s3(lab1):
    best = adls("best", f"{ROOT}/lab1-qat", "--json", cwd=lab1)
    assert best.returncode == 0, best.stderr
    [record] = json.loads(best.stdout)
    assert record["checkpoint"].startswith(f"{ROOT}/lab1-qat/tune/")

    inspect = adls("inspect", f"{ROOT}/lab1-prune", "--csv", cwd=lab1)
    assert inspect.returncode == 0, inspect.stderr
    assert inspect.stdout.splitlines()[-1].startswith("total,")

    report = adls("report", ROOT, cwd=lab1)
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith(f"{ROOT}/report.html ")
    fs, path = pyarrow.fs.FileSystem.from_uri(f"{ROOT}/report.html")
    with fs.open_input_stream(path) as handle:
        html = handle.read().decode()
    assert 'id="lab1-prune"' in html and "data:image/png;base64," in html

    before = s3_files(f"{ROOT}/lab1-prune")["lab1-prune.png"]
    plot = adls("plot", f"{ROOT}/lab1-prune", cwd=lab1)
    assert plot.returncode == 0, plot.stderr
    assert plot.stdout.startswith(f"{ROOT}/lab1-prune/lab1-prune.png")
    assert s3_files(f"{ROOT}/lab1-prune")["lab1-prune.png"] == before
    assert list(lab1.iterdir()) == []  # report and plot wrote into the bucket, not into ./s3:


def test_fetch_copies_s3_results_to_a_local_folder(lab1, tmp_path):
    fetched = adls("fetch", "lab1", "--storage", ROOT, "--to", str(tmp_path / "local"), cwd=lab1)
    assert fetched.returncode == 0, fetched.stderr
    for name in ("base", "lab1-qat", "lab1-prune"):
        local = pd.read_parquet(tmp_path / "local" / name / "trials.parquet")
        remote = pd.read_parquet(f"{ROOT}/{name}/trials.parquet")
        pd.testing.assert_frame_equal(local, remote)


def _folder_keys(uri: str) -> list[str]:
    """The folder marker objects (keys ending in '/') under `uri`, as S3 itself lists them."""
    import boto3

    bucket, prefix = uri[len("s3://") :].split("/", 1)
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", []) if item["Key"].endswith("/")]


def _copy_files_only(source: str, target: str) -> dict[str, int]:
    """Copy every file under `source` to `target`, object by object: no folder keys. {key: size} copied."""
    fs, source_path = pyarrow.fs.FileSystem.from_uri(source)
    _, target_path = pyarrow.fs.FileSystem.from_uri(target)
    files = s3_files(source)
    for key in files:
        fs.copy_file(f"{source_path}/{key}", f"{target_path}/{key}")
    return files


def test_a_prefix_without_its_folder_keys_is_read_fetched_and_moved_aside(lab1, tmp_path):
    # A driver SIGKILLed mid-upload can leave a trial's prefix without the folder's own key: here a
    # whole experiment folder written object by object, none of its folders with a key.
    copy = f"s3://{BUCKET}/nokey/lab1-qat"
    files = _copy_files_only(f"{ROOT}/lab1-qat", copy)
    assert s3_files(copy) == files and _folder_keys(copy) == []

    best = adls("best", copy, "--json", cwd=tmp_path)
    assert best.returncode == 0, best.stderr
    [record] = json.loads(best.stdout)
    assert record["checkpoint"].startswith(f"{copy}/tune/")
    local = tmp_path / "local"
    fetched = adls(
        "fetch",
        "lab1-qat",
        "--storage",
        f"s3://{BUCKET}/nokey",
        "--to",
        str(local),
        "--with-checkpoints",
        cwd=tmp_path,
    )
    assert fetched.returncode == 0, fetched.stderr
    assert {
        str(p.relative_to(local / "lab1-qat")): p.stat().st_size for p in local.rglob("*") if p.is_file()
    } == files

    # Resume sets an unfinished trial aside (its result record gone), file by file, nothing lost.
    tune = f"{copy}/tune/qat"
    fs, tune_path = pyarrow.fs.FileSystem.from_uri(tune)
    with_result = sorted({key.split("/")[0] for key in s3_files(tune) if key.endswith(RESULT_FILE)})
    trial = with_result[0]
    fs.delete_file(
        next(f"{tune_path}/{k}" for k in s3_files(tune) if k.startswith(trial) and k.endswith(RESULT_FILE))
    )
    trial_files = s3_files(f"{tune}/{trial}")
    resumed = interrupted_search(tune, ["qat_accuracy"])
    assert resumed is not None and resumed.set_aside == f"{tune_path}.interrupted"
    assert trial not in {key.split("/")[0] for key in s3_files(tune)}
    assert s3_files(f"{tune}.interrupted/{trial}") == trial_files
    assert sorted(t.path.rsplit("/", 1)[-1] for t in resumed.finished) == with_result[1:]

    # And the whole experiment folder moves aside (--force), every file with it.
    left = s3_files(copy)
    moved = storage.move_aside(copy, "previous")
    assert moved == f"{BUCKET}/nokey/lab1-qat.previous"
    assert s3_files(f"s3://{moved}") == left and s3_files(copy) == {}


def test_the_sha_state_and_a_carried_snapshot_live_on_s3(s3, tmp_path):
    # A --scheduler sha search on s3:// keeps its batches there, and a carried trial's worker
    # copies its snapshot from there (search/run/halving_resume.py, trainables/ray_adapter.py).
    tune = f"s3://{BUCKET}/sha/lab2-nas/tune/grid"
    fs, tune_path = pyarrow.fs.FileSystem.from_uri(tune)
    state = _dead_driver_state()
    write_state(state_location(tune), state)
    assert read_state(state_location(tune)).to_json() == state.to_json()

    aside = f"{tune_path}.interrupted"
    with fs.open_output_stream(f"{aside}/t_e_1_x/checkpoint_000000/{SNAPSHOT_FILE}") as handle:
        handle.write(b"the snapshot")
    plan = plan_resume(state, InterruptedSearch([], aside), tune)
    [(params, marker)] = [c for c in plan.carried if c[1]["trial_id"] == "e"]
    assert marker["snapshot"] == f"s3://{aside}/t_e_1_x/checkpoint_000000"
    reports = []
    checkpoint = _carry_on(marker, tmp_path, lambda metrics, folder: reports.append((metrics, folder)))
    assert (Path(checkpoint.path) / SNAPSHOT_FILE).read_bytes() == b"the snapshot"
    assert reports == [(marker["report"], Path(checkpoint.path))]

    with fs.open_output_stream(f"{tune_path}/{STATE_FILE}") as handle:
        handle.write(b"{not json")
    assert read_state(state_location(tune)) is None  # a warning: the batches are judged again
    assert s3_files(tune) == {f"{STATE_FILE}.broken": len(b"{not json")}


def _finished_on_s3(prefix: str) -> dict[str, float]:
    """{trial folder: seconds} of the trials under `prefix` whose result is stored (what a resume keeps)."""
    fs, path = pyarrow.fs.FileSystem.from_uri(prefix)
    done = {}
    for key in s3_files(prefix):
        if key.endswith("/adls_result.json"):
            with fs.open_input_stream(f"{path}/{key}") as handle:
                done[key.split("/")[0]] = json.loads(handle.read())["seconds"]
    return done


def test_sigkilled_driver_on_s3_resumes_without_losing_or_repeating_a_trial(s3, tmp_path):
    storage = f"s3://{BUCKET}/resume"
    argv = ["run", "lab1-qat", "--profile", "smoke", "--dataset", "synthetic", "--storage", storage]
    argv += ["--max-concurrent", "1"]
    env = {**os.environ, "RAY_ADDRESS": "", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    log = open(tmp_path / "driver.log", "wb")  # noqa: SIM115 (the test folder's file)
    driver = subprocess.Popen(
        [sys.executable, "-m", "adls", *argv],
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=log,
    )
    tune = f"{storage}/lab1-qat/tune/qat"
    started: dict[int, float] = {}
    try:
        deadline = time.monotonic() + 300
        while not _finished_on_s3(tune) and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.2)
        assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-3000:]
        started = {c.pid: c.create_time() for c in psutil.Process(driver.pid).children(recursive=True)}
        driver.kill()  # SIGKILL: no handler, the lock stays behind on S3
        driver.wait()
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
        log.close()
    kept = _finished_on_s3(tune)
    assert 1 <= len(kept) < 4, f"{len(kept)} trials had finished when the driver was killed"
    assert "lab1-qat.lock" in s3_files(storage)
    rerun = adls(*argv, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "taking over the lock" in rerun.stdout + rerun.stderr  # its process is gone: stale
    table = load_results(f"{storage}/lab1-qat")
    assert sorted(table["width"]) == [4, 8, 16, 32] and (table["status"] == "TERMINATED").all()
    durations = dict(zip(table["trial_id"], table["duration_s"], strict=True))
    assert len(durations) == 4  # no trial repeated
    for folder, seconds in kept.items():  # every finished trial kept, under its own id and duration
        assert durations.get(folder.split("_")[3]) == pytest.approx(seconds), f"{folder} was rerun"
    for pid, created in started.items():  # the test's own cleanup of the dead driver's processes
        try:
            process = psutil.Process(pid)
            if process.create_time() == created:
                process.kill()
        except psutil.Error:
            pass


# Takes the lock of `uri` at wall-clock time `at`, says whether it won, and holds it for 4 s.
RACER = """
import sys, time
from search.run.lock import ExperimentLock, LockedError
uri, at = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, at - time.time()))
lock = ExperimentLock(uri)
try:
    lock.acquire()
except LockedError as error:
    print("refused", error)
else:
    print("won")
    time.sleep(4)
    lock.release()
"""


def _race(uri: str, offsets: tuple[float, float]) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    at = time.time() + 5  # both processes started and imported by then
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, uri, str(at + offset)], env=env, stdout=subprocess.PIPE, text=True
        )
        for offset in offsets
    ]
    return [racer.communicate(timeout=60)[0].strip() for racer in racers]


@pytest.mark.parametrize(
    "offsets",
    [(0.0, 0.5), (0.0, OBJECT_STORE_SETTLE_S + 1.0)],
    ids=["inside-the-window", "outside-the-window"],
)
def test_two_runs_racing_for_the_s3_lock_one_wins(s3, offsets):
    """Writes landing within the settle pause: the last write wins at read-back; later: the lock is seen."""
    outcomes = _race(f"s3://{BUCKET}/race-{offsets[1]}/lab1-qat", offsets)
    assert sorted(o.split()[0] for o in outcomes) == ["refused", "won"], outcomes
    refused = next(o for o in outcomes if o.startswith("refused"))
    assert "is being written by another run: pid" in refused


def test_the_s3_lock_window_is_a_write_landing_after_the_other_runs_read_back(s3):
    """What the 2 s cannot close: a run that saw no lock, whose write lands after the other's read-back."""
    uri = f"s3://{BUCKET}/window/lab1-qat"
    late = ExperimentLock(uri)
    assert late._read() is None  # it looked: no lock yet
    early = ExperimentLock(uri)
    early.acquire()  # written, 2 s, read back: its own record, it holds the lock
    try:
        assert late._create()  # its write lands now and reads back as its own: both hold the lock
    finally:
        early.release()
