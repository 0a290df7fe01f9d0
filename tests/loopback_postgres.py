"""A throwaway PostgreSQL server from Debian's `postgresql` package, on a free loopback port.

Used by the shared-study tests and bench/bench_scale.py: `initdb` into a temporary folder, `pg_ctl`
starts the server on 127.0.0.1 only (trust authentication: nothing else can reach it), and
`stop()` ends it with `pg_ctl stop` (the server's own pid file names the process). PostgreSQL
refuses to run as root, so as root the server runs as the package's `postgres` user.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.loopback_cluster import free_port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class LocalPostgres:
    """One PostgreSQL server; `url` is an SQLAlchemy URL of its `postgres` database."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")
        # Its own folder under /tmp: pytest's tmp_path (mode 700, root's) is closed to `postgres`.
        self.root = Path(tempfile.mkdtemp(prefix="adls-pg-"))
        self.data = self.root / "pgdata"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}")
        return done

    def start(self) -> str:
        """initdb + pg_ctl start; returns the URL once the server accepts connections."""
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=60"
        log = str(self.root / "server.log")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if ready.returncode == 0:
                return self.url
            time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL did not start: {Path(log).read_text()[-2000:]}")

    def stop(self) -> None:
        """pg_ctl stop (the server's pid file names the process), then remove the folder."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
