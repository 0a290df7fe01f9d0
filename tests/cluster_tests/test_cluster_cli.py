"""`adls submit | jobs | logs | stop`: argument handling and one-line errors, without a Ray cluster.

A few tests talk to a tiny HTTP server that answers like a token-protected Jobs API does (401, 403,
404), so the error paths run over a real socket in milliseconds; tests/cluster_tests/test_multinode.py
checks the same errors against a real cluster.
"""

import json
import re
import shlex
import socket
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from adls.cli import build_parser, main
from adls.run_options import options_from, run_arguments
from cluster import jobs
from cluster.client import find_token, resolve_address

TOKEN = "the-right-token"


def _error(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["submit", "lab1-qat"], "adls submit needs --storage"),
        (["submit", "lab1-qat", "--storage", "results"], "is a relative path"),
        (["submit", "lab9", "--storage", "s3://b/adls"], "unknown experiment 'lab9'"),
        (
            ["submit", "lab1-qat", "--storage", "s3://b/adls", "--gpus-per-trial", "1.5"],
            "above 1 it must be a whole",
        ),
        (["jobs", "--address", "ray://head:10001"], "is not a Jobs API address"),
        (["logs", "x", "--address", "ftp://head"], "is not an http(s)://HOST:PORT address"),
    ],
)
def test_bad_cluster_input_is_one_line_and_exit_2(argv, message, capsys):
    assert message in _error(argv, capsys)


def test_an_address_nothing_listens_on_fails_in_seconds(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"http://127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()
    err = _error(["jobs", "--address", address], capsys)
    assert f"cannot reach the Ray Jobs API at {address}" in err and "ray dashboard" in err
    assert time.monotonic() - started < 10


def test_the_job_runs_adls_run_with_the_same_options():
    argv = [
        "submit",
        "lab1-qat",
        "--profile",
        "smoke",
        "--storage",
        "s3://bucket/adls",
        "--gpus-per-trial",
        "0.25",
        "--cpus-per-trial",
        "2",
        "--force",
        "--seed",
        "3",
        "--address",
        "http://head:8265",
        "--follow",
    ]
    args = build_parser().parse_args(argv)
    entrypoint = jobs.entrypoint("lab1-qat", run_arguments(args))
    assert entrypoint.startswith("python -m adls run lab1-qat ")
    assert "--address" not in entrypoint and "--follow" not in entrypoint
    rerun = build_parser().parse_args(shlex.split(entrypoint)[3:])
    assert options_from(rerun) == replace(options_from(args), address=None)


def test_what_is_shipped_and_how_the_job_is_labelled(tmp_path):
    env = jobs.runtime_env(tmp_path)
    assert env["working_dir"] == str(tmp_path) and "excludes" not in env  # staged files only
    assert env["env_vars"]["PYTHONUNBUFFERED"] == "1"
    assert re.fullmatch(r"adls-lab1-qat-\d{8}-\d{6}-[0-9a-f]{4}", jobs.submission_id("lab1-qat"))
    args = build_parser().parse_args(["submit", "lab1-qat", "--storage", "s3://b/adls", "--profile", "smoke"])
    labels = jobs.metadata("lab1-qat", options_from(args))
    assert labels == {"adls_experiment": "lab1-qat", "adls_profile": "smoke", "adls_storage": "s3://b/adls"}
    assert all(isinstance(value, str) for value in labels.values())


def test_the_address_defaults_to_ray_address_then_the_dashboard_tunnel(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert resolve_address(None) == "http://127.0.0.1:8265"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:8265")
    assert resolve_address(None) == "http://10.0.0.5:8265"
    assert resolve_address("https://head.example:443/") == "https://head.example:443"


def test_the_token_is_found_where_ray_looks_for_it(monkeypatch, tmp_path):
    for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_token() == (None, "")
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home\n")
    assert find_token() == ("from-home", str(tmp_path / ".ray" / "auth_token"))
    (tmp_path / "token").write_text("from-path")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "token"))
    assert find_token() == ("from-path", str(tmp_path / "token"))
    monkeypatch.setenv("RAY_AUTH_TOKEN", "from-env")
    assert find_token() == ("from-env", "RAY_AUTH_TOKEN")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert find_token()[0] is None


def test_an_unreadable_token_file_is_named(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "missing"))
    err = _error(["jobs", "--address", "http://127.0.0.1:9"], capsys)
    assert "RAY_AUTH_TOKEN_PATH=" in err and "does not exist" in err and "ray get-auth-token" in err


class _TokenJobsApi(BaseHTTPRequestHandler):
    """Answers like Ray's dashboard with token authentication: 401 without a token, 403 with a wrong one."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server interface
        header = self.headers.get("Authorization", "")
        if not header:
            return self._reply(401, "Unauthorized: Missing authentication token")
        if header != f"Bearer {TOKEN}":
            return self._reply(403, "Forbidden: Invalid authentication token")
        if self.path == "/api/version":
            return self._reply(200, json.dumps({"version": "4", "ray_version": "2.60.0", "ray_commit": "x"}))
        job = self.path.removeprefix("/api/jobs/").split("/")[0]
        return self._reply(404, f"Job {job} does not exist.")

    def _reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def jobs_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenJobsApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def no_token(monkeypatch, tmp_path):
    for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ray/auth_token either


def test_a_missing_token_says_how_to_get_it(jobs_api, no_token, capsys):
    err = _error(["jobs", "--address", jobs_api], capsys)
    assert f"the Ray cluster at {jobs_api} requires an authentication token and none was found" in err
    assert "ray get-auth-token" in err and "~/.ray/auth_token" in err


def test_a_wrong_token_is_named_by_where_it_came_from(jobs_api, no_token, monkeypatch, capsys):
    monkeypatch.setenv("RAY_AUTH_TOKEN", "stale")
    err = _error(["jobs", "--address", jobs_api], capsys)
    assert f"the Ray cluster at {jobs_api} rejected the token from RAY_AUTH_TOKEN" in err


def test_an_unknown_job_id_is_one_line(jobs_api, no_token, monkeypatch, capsys):
    monkeypatch.setenv("RAY_AUTH_TOKEN", TOKEN)
    for argv in (["logs", "adls-gone"], ["logs", "adls-gone", "--follow"], ["stop", "adls-gone"]):
        err = _error([*argv, "--address", jobs_api], capsys)
        assert f"no job 'adls-gone' on the cluster at {jobs_api}; `adls jobs` lists" in err
