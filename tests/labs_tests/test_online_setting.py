"""The labs' setting online, rehearsed: `adls run` downloads from a hub on loopback, then runs from its cache.

Marked `online` (its own CI step, `make test-online`). The hub (tests/loopback_hub.py) serves the
test-built prajjwal1/bert-tiny, bert-base-uncased and stanfordnlp/imdb; the project reaches it
through HF_ENDPOINT only, with its ordinary from_pretrained / load_dataset calls. Each run starts
from an empty HF_HOME unless it is the rerun of one.
"""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from safetensors.torch import load_file

from tests.labs_tests.hub_repos import IMDB_ID
from tests.labs_tests.local_hub import MODEL_ID, TOKENIZER_ID, repo_folder
from tests.loopback_hub import HUB_SETTINGS, LoopbackHub, wait_closed
from tests.loopback_proxy import LoopbackProxy, RefusedPort
from trainables.models.checkpoint import weights_fingerprint

pytestmark = pytest.mark.online
ADLS = str(Path(sys.executable).parent / "adls")
LAB1 = "run lab1 --profile full --train-rows 256 --test-rows 128".split()
BASE_SMALL = "run base --profile full --train-rows 32 --test-rows 16".split()
README = Path(__file__).resolve().parents[2] / "README.md"
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def test_the_readme_shows_the_online_command():
    lines = [" ".join(line.split()) for line in README.read_text().splitlines()]
    assert any(line.startswith("adls " + " ".join(LAB1) + " #") for line in lines)


def online_env(work: Path, endpoint: str, **extra: str) -> dict[str, str]:
    """An environment with no hub settings of the machine's: HF_HOME under `work`, HF_ENDPOINT set."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(HUB_SETTINGS) and k.lower() not in PROXY_VARIABLES
    }
    return {
        **env,
        "HF_HOME": str(work / "hf_home"),
        "HF_ENDPOINT": endpoint,
        "ADLS_CACHE_DIR": str(work / "cache"),
        **extra,
    }


def adls(
    args: list[str], env: dict[str, str], storage: Path, timeout: int = 3600
) -> subprocess.CompletedProcess:
    command = [ADLS, *args, "--storage", str(storage)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def sources_line(route: str, data: str, commits: dict[str, str]) -> str:
    return (
        f"adls: {route}; data imdb ({data} {IMDB_ID}@{commits[IMDB_ID]}); "
        f"model {MODEL_ID}@{commits[MODEL_ID]}; tokenizer {TOKENIZER_ID}@{commits[TOKENIZER_ID]}"
    )


def resolve_offline(env: dict[str, str]) -> dict:
    """What a later run would decide from this HF_HOME with the hub gone: resolve_sources in a fresh process."""
    code = """
        import json
        from trainables.data.sources import resolve_sources
        print(json.dumps(resolve_sources("rotten_tomatoes").as_fields()))
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**env, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def commits(hub_repos) -> dict[str, str]:
    return {repo.repo_id: repo.commit for repo in hub_repos}


@pytest.fixture(scope="module")
def downloaded(hub_repos, tmp_path_factory):
    """The README's online command on an empty HF_HOME, then the hub stopped: (process, work, env, hub)."""
    work = tmp_path_factory.mktemp("online")
    with LoopbackHub(hub_repos) as hub:
        env = online_env(work, hub.url)
        done = adls(LAB1, env, work / "results")
    wait_closed(hub.port)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done, work, env, hub


def test_first_run_downloads_pins_and_trains_from_the_served_weights(downloaded, hub_repos, commits):
    done, work, env, hub = downloaded
    assert done.stdout.splitlines()[0] == sources_line(f"hub {hub.url} direct", "hub", commits)
    cache = work / "hf_home" / "hub"
    for repo_id in (MODEL_ID, TOKENIZER_ID):
        assert (cache / repo_folder(repo_id) / "refs" / "main").read_text() == commits[repo_id]
    served = {repo.repo_id: repo for repo in hub_repos}[MODEL_ID].files["model.safetensors"]
    snapshot = cache / repo_folder(MODEL_ID) / "snapshots" / commits[MODEL_ID]
    assert (snapshot / "model.safetensors").read_bytes() == served
    assert any(r.startswith(f"GET /datasets/{IMDB_ID}/resolve/") for r in hub.requests)
    base = pd.read_parquet(work / "results" / "base" / "trials.parquet").iloc[0]
    assert base["start_weights_sha256"] == weights_fingerprint(load_file(snapshot / "model.safetensors"))
    for name in ("base", "lab1-qat", "lab1-prune"):
        table = pd.read_parquet(work / "results" / name / "trials.parquet")
        assert len(table) and (table["status"] == "TERMINATED").all(), name
        run = json.loads((work / "results" / name / "run.json").read_text())
        assert run["data_source"] == f"imdb (hub {IMDB_ID}@{commits[IMDB_ID]})" and run["fallbacks"] == []
        assert run["identity"]["data"]["data_revision"] == commits[IMDB_ID]
        assert (table["model_source"] == f"{MODEL_ID}@{commits[MODEL_ID]}").all()
        assert (table["tokenizer_source"] == f"{TOKENIZER_ID}@{commits[TOKENIZER_ID]}").all()


@pytest.mark.parametrize("offline", [False, True], ids=["hub-stopped", "HF_HUB_OFFLINE"])
def test_rerun_with_the_hub_gone_uses_the_cache_and_the_same_commits(downloaded, commits, offline, tmp_path):
    _, work, env, hub = downloaded
    rerun = {**env, "ADLS_CACHE_DIR": str(tmp_path / "cache"), **({"HF_HUB_OFFLINE": "1"} if offline else {})}
    start = time.monotonic()
    done = adls(BASE_SMALL, rerun, tmp_path / "results")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    route = "hub offline (HF_HUB_OFFLINE=1)" if offline else f"hub {hub.url} unreachable (direct)"
    assert done.stdout.splitlines()[0] == sources_line(
        f"{route}: local cache only", "datasets cache of", commits
    )
    table = pd.read_parquet(tmp_path / "results" / "base" / "trials.parquet")
    assert (table["status"] == "TERMINATED").all()
    assert (table["model_source"] == f"{MODEL_ID}@{commits[MODEL_ID]}").all()
    assert time.monotonic() - start < 600


@pytest.mark.parametrize("fault", ["500", "stall"])
def test_a_failing_hub_is_one_line_and_leaves_nothing_trusted(hub_repos, fault, tmp_path):
    with LoopbackHub(hub_repos) as hub:
        hub.fail(MODEL_ID, fault)
        env = online_env(tmp_path, hub.url, HF_HUB_DOWNLOAD_TIMEOUT="1")
        start = time.monotonic()
        done = adls(BASE_SMALL, env, tmp_path / "results", timeout=300)
        seconds = time.monotonic() - start
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"could not download {MODEL_ID} from {hub.url}" in done.stderr
    assert "HF_HUB_OFFLINE=1" in done.stderr and seconds < 120
    repo = tmp_path / "hf_home" / "hub" / repo_folder(MODEL_ID)
    assert not list(repo.glob("snapshots/*/model.safetensors"))
    if fault == "stall":  # config.json came, the weights did not: a snapshot a config check would trust
        assert list(repo.glob("snapshots/*/config.json")) and (repo / "refs" / "main").is_file()
    # A later run with the hub gone trusts nothing of it: the model falls back to the seeded init.
    assert resolve_offline(env)["model_source"] == "seeded-init"


def test_hub_reachable_only_through_a_proxy(hub_repos, commits, tmp_path):
    refused = RefusedPort()
    with (
        LoopbackHub(hub_repos) as hub,
        LoopbackProxy({("127.0.0.1", refused.port): ("127.0.0.1", hub.port)}) as proxy,
    ):
        env = online_env(tmp_path, refused.url, HTTP_PROXY=proxy.url, HTTPS_PROXY=proxy.url)
        done = adls(BASE_SMALL, env, tmp_path / "results")
    refused.close()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    route = f"hub {refused.url} via proxy {proxy.url}"
    assert done.stdout.splitlines()[0] == sources_line(route, "hub", commits)
    through = [r for r in proxy.requests if "/resolve/" in r]
    assert any(f"/{MODEL_ID}/resolve/" in r for r in through) and any(IMDB_ID in r for r in through)
    table = pd.read_parquet(tmp_path / "results" / "base" / "trials.parquet")
    assert (table["status"] == "TERMINATED").all()
