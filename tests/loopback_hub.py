"""A Hugging Face hub on loopback: the part of the hub's HTTP API that huggingface_hub, transformers and
datasets call to download a model repository and a dataset repository.

Answered (checked against huggingface_hub 2.4, transformers 5.24 and datasets 5.2, which reach it
through HF_ENDPOINT like any mirror):

    HEAD|GET /                                              200: the reachability probe
    HEAD|GET /<repo>/resolve/<rev>/<path>                   a model file (Range honoured)
    HEAD|GET /datasets/<repo>/resolve/<rev>/<path>          a dataset file
    GET      /api/{models,datasets}/<repo>[/revision/<rev>] the repository's info (sha, siblings)
    GET      /api/{models,datasets}/<repo>/tree/<rev>[/<dir>]  its file listing (?recursive=true)
    POST     /api/{models,datasets}/<repo>/paths-info/<rev>    the entries of named paths

File responses carry what the client checks: X-Repo-Commit (the commit id), ETag (the git blob
sha1), and for LFS files (weights, Parquet) X-Linked-Etag (their sha256) and X-Linked-Size. A
missing file is a 404 with X-Error-Code: EntryNotFound, a missing repository a 401 with
RepoNotFound, as the hub answers. `fail(repo_id, "500")` makes every request for that repository
answer 500; `fail(repo_id, "stall")` sends half of each LFS file and then stops sending (resumed
requests get nothing), until `stop()`.
"""

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".parquet", ".h5", ".msgpack")


# Prefixes of the machine's environment settings that would point a run at another hub or cache:
# a test's subprocess drops them so that only the loopback hub and the test's own HF_HOME count.
HUB_SETTINGS = (
    "HF_",
    "HUGGINGFACE_",
    "TRANSFORMERS_OFFLINE",
    "ADLS_OFFLINE",
    "ADLS_HUB_REACHABLE",
    "ADLS_CACHE_DIR",
)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubRepo:
    """One repository: its type ("model" or "dataset"), id and files; the commit id is derived from them."""

    repo_type: str
    repo_id: str
    files: dict[str, bytes]
    commit: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha1(self.repo_id.encode())
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path])
        self.commit = digest.hexdigest()

    def entry(self, path: str) -> dict:
        """The tree / paths-info entry of a file or folder `path`."""
        if path not in self.files:
            return {
                "type": "directory",
                "oid": hashlib.sha1(path.encode()).hexdigest(),
                "size": 0,
                "path": path,
            }
        data = self.files[path]
        item = {"type": "file", "oid": git_blob_sha1(data), "size": len(data), "path": path}
        if path.endswith(LFS_SUFFIXES):
            item["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return item

    def folders(self) -> set[str]:
        return {"/".join(p.split("/")[:i]) for p in self.files for i in range(1, p.count("/") + 1)}


class LoopbackHub:
    """The server; `url` is what HF_ENDPOINT is set to. Start with start(), end with stop()."""

    def __init__(self, repos: list[HubRepo], host: str = "127.0.0.1") -> None:
        self.repos = {(r.repo_type, r.repo_id): r for r in repos}
        self.faults: dict[str, str] = {}
        self.requests: list[str] = []
        self.released = threading.Event()
        self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def repo(self, repo_id: str) -> HubRepo:
        return next(r for r in self.repos.values() if r.repo_id == repo_id)

    def fail(self, repo_id: str, how: str | None) -> None:
        """Make requests for `repo_id` fail ("500", "stall"), or answer again (None)."""
        if how is None:
            self.faults.pop(repo_id, None)
        else:
            self.faults[repo_id] = how

    def start(self) -> "LoopbackHub":
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the port (a stalled download is let go first)."""
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LoopbackHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler(hub: LoopbackHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode()) if length else {}
            self._answer(body=True, form=form)

        def _answer(self, body: bool, form: dict | None = None) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            hub.requests.append(f"{self.command} {path}")
            if path in ("", "/"):
                return self._send(200, b"adls-tune loopback hub\n", body, {"Content-Type": "text/plain"})
            found = _route(hub, path)
            if found is None:
                return self._send(404, b"not found", body, {"X-Error-Code": "RepoNotFound"})
            kind, repo, rev, rest = found
            if repo is None:
                return self._send(401, b"Repository not found", body, {"X-Error-Code": "RepoNotFound"})
            if hub.faults.get(repo.repo_id) == "500":
                return self._send(500, b"Internal Error", body, {"Content-Type": "text/plain"})
            if rev not in ("main", repo.commit):
                return self._send(404, b"Invalid rev id", body, {"X-Error-Code": "RevisionNotFound"})
            commit = {"X-Repo-Commit": repo.commit}
            if kind == "resolve":
                return self._file(repo, rest, body)
            if kind == "info":
                info = {
                    "id": repo.repo_id,
                    "_id": repo.commit[:24],
                    "sha": repo.commit,
                    "private": False,
                    "gated": False,
                    "disabled": False,
                    "downloads": 0,
                    "likes": 0,
                    "tags": [],
                    "lastModified": "2026-12-01T00:00:00.000Z",
                    "siblings": [{"rfilename": p} for p in sorted(repo.files)],
                }
                return self._json(info, body, commit)
            if kind == "tree":
                query = parse_qs(url.query)
                recursive = query.get("recursive", ["false"])[0].lower() == "true"
                prefix = rest.strip("/")
                if prefix and prefix not in repo.folders():
                    return self._send(404, b"not found", body, {"X-Error-Code": "EntryNotFound", **commit})
                names = sorted(set(repo.files) | repo.folders())
                below = [n for n in names if not prefix or n.startswith(prefix + "/")]
                if not recursive:
                    depth = prefix.count("/") + 1 if prefix else 0
                    below = [n for n in below if n.count("/") == depth]
                return self._json([repo.entry(n) for n in below], body, commit)
            # paths-info
            paths = (form or {}).get("paths", [])
            known = set(repo.files) | repo.folders()
            return self._json([repo.entry(p) for p in paths if p in known], body, commit)

        def _file(self, repo: HubRepo, name: str, body: bool) -> None:
            commit = {"X-Repo-Commit": repo.commit}
            data = repo.files.get(name)
            if data is None:
                return self._send(404, b"Entry not found", body, {"X-Error-Code": "EntryNotFound", **commit})
            headers = {**commit, "ETag": f'"{git_blob_sha1(data)}"', "Accept-Ranges": "bytes"}
            if name.endswith(LFS_SUFFIXES):
                sha256 = hashlib.sha256(data).hexdigest()
                headers.update({"X-Linked-Etag": f'"{sha256}"', "X-Linked-Size": str(len(data))})
                headers["ETag"] = f'"{sha256}"'
            start = 0
            ranged = self.headers.get("Range", "")
            if ranged.startswith("bytes=") and body:
                start = int(ranged[6:].split("-")[0] or 0)
            stall = hub.faults.get(repo.repo_id) == "stall" and name.endswith(LFS_SUFFIXES) and body
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            self.send_response(206 if start else 200)
            for key, value in {**headers, "Content-Length": str(len(data) - start)}.items():
                self.send_header(key, value)
            self.end_headers()
            if not body:
                return
            if stall:
                # Half the file on the first request, nothing on a resumed one; then silence.
                if not start:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                hub.released.wait()
                self.close_connection = True
                return
            self.wfile.write(data[start:])

        def _json(self, value: object, body: bool, headers: dict[str, str]) -> None:
            self._send(200, json.dumps(value).encode(), body, {**headers, "Content-Type": "application/json"})

        def _send(self, status: int, data: bytes, body: bool, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(data))}.items():
                self.send_header(key, value)
            self.end_headers()
            if body:
                self.wfile.write(data)

    return Handler


def _route(hub: LoopbackHub, path: str) -> tuple[str, HubRepo | None, str, str] | None:
    """(kind, repository or None when unknown, revision, rest) of a request path, None if no route."""
    parts = path.lstrip("/").split("/")
    if parts[0] == "api" and len(parts) >= 3 and parts[1] in ("models", "datasets"):
        repo_type = parts[1][:-1]
        for (kind, repo_id), repo in hub.repos.items():
            words = repo_id.split("/")
            if kind == repo_type and parts[2 : 2 + len(words)] == words:
                tail = parts[2 + len(words) :]
                if not tail:
                    return "info", repo, "main", ""
                if tail[0] == "revision" and len(tail) == 2:
                    return "info", repo, unquote(tail[1]), ""
                if tail[0] in ("tree", "paths-info") and len(tail) >= 2:
                    return tail[0], repo, unquote(tail[1]), "/".join(tail[2:])
                return None
        return "info", None, "main", ""
    repo_type = "model"
    if parts[0] == "datasets":
        repo_type, parts = "dataset", parts[1:]
    if "resolve" not in parts:
        return None
    at = parts.index("resolve")
    repo = hub.repos.get((repo_type, "/".join(parts[:at])))
    if len(parts) < at + 3:
        return None
    return "resolve", repo, unquote(parts[at + 1]), "/".join(parts[at + 2 :])


def wait_closed(port: int, timeout: float = 5.0) -> None:
    """Wait until nothing answers on 127.0.0.1:`port` (after stop())."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} still answers")
