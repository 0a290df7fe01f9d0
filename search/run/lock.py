"""One writer per experiment folder: a lock file beside it, naming who holds it since when.

`<storage>/<experiment>.lock` (beside the folder, so moving the folder aside keeps the lock) holds
the holder's host, pid, process start time, command and a heartbeat the holder refreshes every
HEARTBEAT_S seconds. A second run of the same experiment on the same storage is refused with one
line naming the holder. A lock is stale, and taken over with a message, when its process is gone
(same host: the pid is dead or is another process now) or its heartbeat is older than STALE_AFTER_S
(another host, e.g. a shared filesystem or an object store).

On a local or shared filesystem the lock is created atomically (O_EXCL) and a stale one is renamed
away atomically before it is replaced, so of two racing runs exactly one wins. Object stores have no
atomic create here: the lock is written, then read back after a pause, and the run whose record is
there wins; two runs started within that pause can still both win (documented in README).
"""

import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass

import psutil

from errors import ConfigError
from search import storage

log = logging.getLogger(__name__)
HEARTBEAT_S = 30.0
STALE_AFTER_S = 180.0
OBJECT_STORE_SETTLE_S = 2.0


class LockedError(ConfigError):
    """Another live run writes this experiment folder (one line: who, since when, what to do)."""


@dataclass(frozen=True)
class LockRecord:
    """What a lock file says about its holder."""

    host: str
    pid: int
    pid_started: float  # the process's start time: a reused pid is another process
    started: float
    heartbeat: float
    command: str
    token: str

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"pid {self.pid} on {self.host} since {since} ({self.command})"


def lock_path(experiment_folder: str) -> str:
    return experiment_folder.rstrip("/") + ".lock"


def stale_reason(record: LockRecord, now: float | None = None) -> str | None:
    """Why the holder of `record` no longer holds it, or None while it may still be writing."""
    now = time.time() if now is None else now
    if record.host == socket.gethostname():
        try:
            started = psutil.Process(record.pid).create_time()
        except psutil.NoSuchProcess:
            return f"its process {record.pid} is gone"
        except psutil.Error:
            return None  # alive, but not ours to inspect: assume it still writes
        if abs(started - record.pid_started) > 1.0:
            return f"its process {record.pid} is gone (the pid now belongs to another process)"
        return None
    if now - record.heartbeat > STALE_AFTER_S:
        return f"its heartbeat is {now - record.heartbeat:.0f} s old (more than {STALE_AFTER_S:.0f} s)"
    return None


class ExperimentLock:
    """Hold the lock of one experiment folder while a run writes it (a context manager)."""

    def __init__(self, experiment_folder: str) -> None:
        self.folder = experiment_folder
        self.path = lock_path(experiment_folder)
        me = psutil.Process()
        now = time.time()
        self.record = LockRecord(
            host=socket.gethostname(),
            pid=os.getpid(),
            pid_started=me.create_time(),
            started=now,
            heartbeat=now,
            command=" ".join(["adls", *sys.argv[1:]])[:200] if sys.argv else "adls",
            token=uuid.uuid4().hex,
        )
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> "ExperimentLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock; LockedError (one line) when a live run holds it. A stale lock is taken over."""
        for _ in range(5):  # a few rounds: a racing run may take over or release between our steps
            holder = self._read()
            if holder is None:
                if self._create():
                    break
                continue
            reason = stale_reason(holder)
            if reason is None:
                raise LockedError(
                    f"{self.folder} is being written by another run: {holder.describe()}; wait for it to "
                    f"finish or stop it (its lock {self.path} is taken over once its process is gone)"
                )
            if self._remove_stale(holder):
                log.warning("taking over the lock %s from %s: %s", self.path, holder.describe(), reason)
        else:
            raise LockedError(f"could not take the lock {self.path}: other runs keep changing it; retry")
        self._beat = threading.Thread(target=self._heartbeat, name="adls-lock-heartbeat", daemon=True)
        self._beat.start()

    def release(self) -> None:
        """Give the lock up (only if it is still ours)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        holder = self._read()
        if holder is not None and holder.token == self.record.token:
            fs, path = storage.filesystem(self.path)
            fs.delete_file(path)

    # -- the file itself ------------------------------------------------------------------------

    def _read(self) -> LockRecord | None:
        try:
            data = json.loads(storage.read_bytes(self.path))
            return LockRecord(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as error:
            if not storage.exists(self.path):
                return None
            raise ConfigError(
                f"the lock file {self.path} is unreadable ({error}); if no run writes {self.folder}, "
                "move the lock file aside and run again"
            ) from None

    def _encoded(self, record: LockRecord) -> bytes:
        return json.dumps(asdict(record), indent=1).encode()

    def _create(self) -> bool:
        """Create the lock file if none exists; True when it is ours."""
        if storage.is_uri(self.path):
            storage.write_bytes(self.path, self._encoded(self.record))
            time.sleep(OBJECT_STORE_SETTLE_S)  # let a racing writer's record land, then see who won
            holder = self._read()
            return holder is not None and holder.token == self.record.token
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        try:
            handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(handle, "wb") as out:
            out.write(self._encoded(self.record))
        return True

    def _remove_stale(self, holder: LockRecord) -> bool:
        """Move a stale lock out of the way (renamed beside it, not deleted); True if we did."""
        fs, path = storage.filesystem(self.path)
        aside = f"{path}.stale-{holder.token[:8]}-{uuid.uuid4().hex[:4]}"
        try:
            fs.move(path, aside)  # atomic on a filesystem: of two racing runs one moves it
        except (FileNotFoundError, OSError):
            return False
        return True

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            holder = self._read()
            if holder is None or holder.token != self.record.token:
                log.error("lost the lock %s to %s", self.path, holder.describe() if holder else "nobody")
                return
            record = LockRecord(**{**asdict(self.record), "heartbeat": time.time()})
            storage.write_bytes(self.path, self._encoded(record))
