"""Real Ray clusters on this machine: `ray start` head and worker processes on loopback addresses.

Used by the cluster tests (tests/cluster_tests/conftest.py) and the scale rehearsal
(bench/bench_scale.py). Every process started here runs in a session of its own
(start_new_session), so teardown and node-loss checks stop exactly those processes by pid, never
anything found by name: other Ray instances may run on the same machine. Each cluster has its own
ports, temp folders and token. The command lines come from `Commands`
(tests/documented_commands.py); README.md shows the same commands.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.documented_commands import HEAD_IP, Commands

PROJECT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def session_processes(leader: int) -> list[psutil.Process]:
    """Every live process of the session that `leader` started (our `ray start` and all it spawned)."""
    found = []
    for pid in psutil.pids():
        try:
            if os.getsid(pid) == leader:
                found.append(psutil.Process(pid))
        except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
            continue
    return found


def kill_session(leader: int, timeout: float = 20) -> None:
    """SIGKILL every process of the session, by pid, until none is left (Ray may still be spawning)."""
    deadline = time.monotonic() + timeout
    while True:
        procs = session_processes(leader)
        if not procs:
            return
        for proc in procs:
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=3)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of session {leader} survive SIGKILL: {[p.pid for p in procs]}")


@dataclass
class Node:
    """One Ray node started by a test: the `ray start` session leader's pid identifies all its processes."""

    name: str
    ip: str
    leader: int
    temp_dir: Path
    cache_dir: Path

    def processes(self) -> list[psutil.Process]:
        return session_processes(self.leader)

    def kill(self) -> None:
        kill_session(self.leader)


@dataclass
class LocalCluster:
    """A Ray head and workers on this machine, each a separate set of processes with its own ports."""

    root: Path
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    port: int = field(default_factory=free_port)
    dashboard_port: int = field(default_factory=free_port)
    nodes: list[Node] = field(default_factory=list)
    hidden: Path | None = None  # a folder the last worker node cannot see (see add_worker)
    hidden_reason: str | None = None  # why there is none
    logs: Path = field(init=False)

    def __post_init__(self) -> None:
        self.logs = self.root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.token_file = self.root / "auth_token"
        self.token_file.write_text(self.token)
        self.token_file.chmod(0o600)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def node_env(self, cache_dir: Path) -> dict[str, str]:
        """What the node processes (and so the job's driver and trials) see."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("RAY_", "PYTHONPATH", "ADLS_"))
        }
        env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN=self.token,  # never ~/.ray/auth_token: others use it
            RAY_USAGE_STATS_ENABLED="0",
            HF_HUB_OFFLINE="1",
            TOKENIZERS_PARALLELISM="false",
            ADLS_CACHE_DIR=str(cache_dir),
            # Notice a lost node in seconds rather than the default half minute.
            RAY_health_check_period_ms="1000",
            RAY_health_check_timeout_ms="2000",
            RAY_health_check_failure_threshold="5",
            # On a heavily loaded machine a node's registration can take longer than the 30 s
            # `ray start` waits by default ("Try increase the RAY_raylet_start_wait_time_s config").
            RAY_raylet_start_wait_time_s="120",
        )
        return env

    def driver_env(self, cache_dir: Path) -> dict[str, str]:
        """What a driver run on this machine needs to join the cluster directly (`ray.init()`)."""
        return {**self.node_env(cache_dir), "RAY_ADDRESS": f"{HEAD_IP}:{self.port}"}

    def client_env(self, **overrides: str) -> dict[str, str]:
        """What a user's shell has: the Jobs API address and where the token is; nothing else of Ray."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("RAY_", "PYTHONPATH"))}
        env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            RAY_ADDRESS=self.address,
            RAY_AUTH_TOKEN_PATH=str(self.token_file),
        )
        env.update(overrides)
        return {key: value for key, value in env.items() if value != ""}

    def start_head(self, extra: tuple[str, ...] = ()) -> Node:
        """Start the head node; `extra` are more `ray start` options (e.g. a small object store)."""
        # A short path: Ray's socket paths below it must fit in 107 bytes.
        temp_dir = Path(tempfile.mkdtemp(prefix="adlsc-head-"))
        command = Commands.ray_head(self.port, self.dashboard_port, free_port(), free_port(), str(temp_dir))
        return self._start("head", HEAD_IP, [*command, *extra], temp_dir)

    def add_worker(
        self, ip: str, hidden: Path | None = None, cpus: int = 1, gpus: int = 0, extra: tuple[str, ...] = ()
    ) -> Node:
        """Start a worker node advertising `cpus` CPUs and `gpus` GPUs (resources; no device is needed).

        `hidden` (a folder) is covered by an empty tmpfs in the worker's own mount namespace, so
        that folder is node-local to the head while the rest of the disk stays shared.
        """
        temp_dir = Path(tempfile.mkdtemp(prefix="adlsc-worker-"))
        command = [*Commands.ray_worker(self.port, ip, free_port(), str(temp_dir), cpus, gpus), *extra]
        if hidden is not None:
            hidden.mkdir(parents=True, exist_ok=True)
            script = f"mount -t tmpfs adls-node-local {hidden} && exec {subprocess.list2cmdline(command)}"
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
        return self._start(f"worker-{ip}", ip, command, temp_dir)

    def _start(self, name: str, ip: str, command: list[str], temp_dir: Path) -> Node:
        cache_dir = self.root / f"cache-{name}"
        log = open(self.logs / f"{name}-start.log", "w")  # noqa: SIM115 - kept open for the child
        process = subprocess.Popen(
            command,
            env=self.node_env(cache_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.root,
        )
        node = Node(name, ip, process.pid, temp_dir, cache_dir)
        self.nodes.append(node)
        # `ray start` returns once the node's daemons run; they stay in the session it started.
        rc = process.wait(timeout=180)
        if rc != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({rc}):\n{(self.logs / f'{name}-start.log').read_text()}"
            )
        return node

    def alive_nodes(self) -> list[dict]:
        request = urllib.request.Request(
            f"{self.address}/api/v0/nodes?limit=100", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = json.load(response)
        return [n for n in payload["data"]["result"]["result"] if n.get("state") == "ALIVE"]

    def wait_for_nodes(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if len(self.alive_nodes()) == count:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster did not reach {count} alive nodes in {timeout} s")
            time.sleep(0.5)

    def run(
        self, command: list[str], timeout: float = 300, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """Run a command (`adls ...`) as a user of this cluster would, from the project folder."""
        return subprocess.run(
            command,
            env=env or self.client_env(),
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def shutdown(self) -> None:
        for node in reversed(self.nodes):
            kill_session(node.leader)
            shutil.rmtree(node.temp_dir, ignore_errors=True)


def namespaces_usable() -> str | None:
    """None when this process may create mount namespaces (root with CAP_SYS_ADMIN), else why not."""
    if shutil.which("unshare") is None:
        return "`unshare` (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True
    )
    return None if probe.returncode == 0 else f"`unshare --mount` fails here: {probe.stderr.strip()}"
