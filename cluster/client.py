"""A Ray Jobs API client that turns every way of failing to reach a cluster into one clear ClusterError.

Ray's `JobSubmissionClient` raises ConnectionError, AuthenticationError or RuntimeError("Request
failed with status code 404 ...") with multi-line texts; `JobsClient` wraps it so the `adls`
command can print one line that says what to do.
"""

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from errors import ClusterError
from search.ray_session.tcp_probe import unreachable_reason

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
CONNECT_TIMEOUT_S = 5.0
TERMINAL_STATES = ("SUCCEEDED", "FAILED", "STOPPED")
TOKEN_HELP = (
    "print the cluster's token on its head node with `ray get-auth-token` (for a `ray up` cluster: "
    "`ray exec ray_cluster.yaml 'ray get-auth-token'`) and save it in ~/.ray/auth_token or set RAY_AUTH_TOKEN"
)

T = TypeVar("T")


def resolve_address(address: str | None) -> str:
    """The Jobs API URL: `address`, else $RAY_ADDRESS, else http://127.0.0.1:8265 (`ray dashboard`'s tunnel).

    A bare host:port gets http:// in front. Ray Client (ray://) and GCS ("auto") addresses are
    refused: jobs are submitted through the dashboard's HTTP port.
    """
    address = (address or os.environ.get("RAY_ADDRESS") or DEFAULT_ADDRESS).strip().rstrip("/")
    if address == "auto" or address.startswith("ray://"):
        raise ClusterError(
            f"--address {address!r} is not a Jobs API address; give the dashboard's http://HOST:PORT "
            f"(default {DEFAULT_ADDRESS}, reached with `ray dashboard ray_cluster.yaml`)"
        )
    if "://" not in address:
        address = f"http://{address}"
    try:
        parsed = urlparse(address)
        parsed.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:  # a broken [IPv6] literal, a port above 65535
        raise ClusterError(
            f"--address {address!r} is not usable ({error}); give the dashboard's http://HOST:PORT"
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname or " " in address:
        raise ClusterError(f"--address {address!r} is not an http(s)://HOST:PORT address of a Ray dashboard")
    return address


def find_token() -> tuple[str | None, str]:
    """The cluster token to send and where it came from, in Ray's own order of precedence.

    RAY_AUTH_TOKEN, then the file named by RAY_AUTH_TOKEN_PATH, then ~/.ray/auth_token (where
    `ray get-auth-token --generate` writes it). RAY_AUTH_MODE=disabled sends none. The token is
    sent whenever one is found, as `ray start` does for a local cluster, so users need not also
    set RAY_AUTH_MODE=token; a cluster without token authentication ignores it.
    """
    if os.environ.get("RAY_AUTH_MODE", "").strip().lower() == "disabled":
        return None, "RAY_AUTH_MODE=disabled"
    token = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    if token:
        return token, "RAY_AUTH_TOKEN"
    path_setting = os.environ.get("RAY_AUTH_TOKEN_PATH", "").strip()
    path = Path(path_setting).expanduser() if path_setting else Path.home() / ".ray" / "auth_token"
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        if path_setting:
            raise ClusterError(f"RAY_AUTH_TOKEN_PATH={path_setting!r} does not exist; {TOKEN_HELP}") from None
        return None, ""
    except OSError as error:
        raise ClusterError(
            f"cannot read the Ray token file {str(path)!r} ({error.strerror}); {TOKEN_HELP}"
        ) from None
    if not token:
        raise ClusterError(f"the Ray token file {str(path)!r} is empty; {TOKEN_HELP}")
    return token, str(path)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast (seconds, not the OS's minutes) when nothing listens at `address`."""
    parsed = urlparse(address)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    reason = unreachable_reason(parsed.hostname or "", port, timeout)
    if reason:
        raise ClusterError(
            f"cannot reach the Ray Jobs API at {address} ({reason}); start the cluster (`ray up ray_cluster.yaml`) "
            "and its tunnel (`ray dashboard ray_cluster.yaml`), or give --address / RAY_ADDRESS"
        )


class JobsClient:
    """One cluster's Jobs API; every method raises ClusterError (one line) instead of Ray's errors."""

    def __init__(self, address: str | None = None) -> None:
        """Connect to the Jobs API at `address` (see resolve_address); ClusterError if that fails."""
        from ray.job_submission import JobSubmissionClient

        self.address = resolve_address(address)
        self.token, self.token_source = find_token()
        check_reachable(self.address)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        # The constructor already asks the server for its version, so auth errors surface here.
        self.client = self._call(lambda: JobSubmissionClient(self.address, headers=headers))

    def submit(
        self, entrypoint: str, submission_id: str, runtime_env: dict[str, Any], metadata: dict[str, str]
    ) -> str:
        """Submit a job; returns its submission id."""
        return self._call(
            lambda: self.client.submit_job(
                entrypoint=entrypoint,
                submission_id=submission_id,
                runtime_env=runtime_env,
                metadata=metadata,
            )
        )

    def info(self, job_id: str) -> Any:
        """The job's JobDetails (status, message, metadata, start/end times in ms)."""
        return self._call(lambda: self.client.get_job_info(job_id), job_id)

    def list(self) -> list[Any]:
        """JobDetails of every job the cluster knows, oldest first."""
        jobs = self._call(self.client.list_jobs)
        return sorted(jobs, key=lambda job: job.start_time or 0)

    def logs(self, job_id: str) -> str:
        """Everything the job's driver printed so far."""
        return self._call(lambda: self.client.get_job_logs(job_id), job_id)

    def follow(self, job_id: str, write: Callable[[str], None]) -> Any:
        """Stream the job's output to `write` until it ends; returns its final JobDetails."""
        self.info(job_id)  # an unknown id is a clear error, not a silent empty stream

        async def tail() -> None:
            async for chunk in self.client.tail_job_logs(job_id):
                write(chunk)

        self._call(lambda: asyncio.run(tail()), job_id)
        return self.wait(job_id, timeout=30)

    def stop(self, job_id: str, timeout: float = 60) -> Any:
        """Ask the job to stop and wait (up to `timeout` s) for it to end; returns its JobDetails."""
        self.info(job_id)
        self._call(lambda: self.client.stop_job(job_id), job_id)
        return self.wait(job_id, timeout)

    def wait(self, job_id: str, timeout: float) -> Any:
        """Poll until the job is SUCCEEDED, FAILED or STOPPED, or `timeout` s pass; its last JobDetails."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.info(job_id)
            if str(info.status) in TERMINAL_STATES or time.monotonic() > deadline:
                return info
            time.sleep(0.5)

    def _call(self, request: Callable[[], T], job_id: str | None = None) -> T:
        from ray.exceptions import AuthenticationError

        try:
            return request()
        except AuthenticationError as error:
            if "required" in str(error).split("\n", 1)[0].lower() or not self.token:
                raise ClusterError(
                    f"the Ray cluster at {self.address} requires an authentication token and none was found; "
                    f"{TOKEN_HELP}"
                ) from None
            raise ClusterError(
                f"the Ray cluster at {self.address} rejected the token from {self.token_source}; {TOKEN_HELP}"
            ) from None
        except ConnectionError as error:  # requests' ConnectionError derives from OSError, Ray's from this
            raise ClusterError(
                f"lost the connection to the Ray Jobs API at {self.address}: {_first_line(error)}"
            ) from None
        except RuntimeError as error:
            text = str(error)
            if job_id is not None and "404" in text:
                raise ClusterError(
                    f"no job {job_id!r} on the cluster at {self.address}; `adls jobs` lists this project's jobs"
                ) from None
            raise ClusterError(f"the Ray Jobs API at {self.address} failed: {_first_line(error)}") from None
        except OSError as error:
            raise ClusterError(
                f"lost the connection to the Ray Jobs API at {self.address}: {_first_line(error)}"
            ) from None


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(error).__name__
