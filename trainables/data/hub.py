"""Is the Hugging Face hub reachable? Answered in seconds, never by waiting on a dead network."""

import logging
import os
import socket
import threading
import time
from urllib.parse import urlparse

log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_lock = threading.Lock()
_cached: bool | None = None
# The driver's answer, handed to the Ray workers it starts (search/ray_session/start.py), so a run probes
# the hub once, not once per worker process.
RUN_ANSWER_ENV = "ADLS_HUB_REACHABLE"


def offline_by_env() -> bool:
    """True when HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE or ADLS_OFFLINE is set to a true value."""
    return any(
        os.environ.get(name, "").strip().lower() in _TRUE
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ADLS_OFFLINE")
    )


def hub_reachable(timeout: float = 2.0) -> bool:
    """True if a TCP connection to the hub (huggingface.co:443, or $HF_ENDPOINT) opens within `timeout`.

    False at once when HF_HUB_OFFLINE=1 / ADLS_OFFLINE=1. The probe runs once per process and its
    answer is cached (the environment variables are still honoured on every call); a process
    started with ADLS_HUB_REACHABLE=1/0 (a Ray worker of a run whose driver probed) takes that
    answer without probing. DNS lookups are
    bounded by the timeout too: getaddrinfo runs in a daemon thread, because a resolver that never
    answers would otherwise block for the system's own (often 30 s+) timeout.
    """
    global _cached
    if offline_by_env():
        return False
    shared = os.environ.get(RUN_ANSWER_ENV, "").strip()
    if shared in ("0", "1"):
        return shared == "1"
    with _lock:
        if _cached is None:
            host, port = _hub_address()
            start = time.monotonic()
            _cached = _probe(host, port, timeout)
            log.info(
                "hub %s:%d %s (%.2fs)",
                host,
                port,
                "reachable" if _cached else "unreachable",
                time.monotonic() - start,
            )
        return _cached


def clear_hub_cache() -> None:
    """Forget the cached probe result, so the next hub_reachable() call probes again (for tests)."""
    global _cached
    with _lock:
        _cached = None


def _hub_address() -> tuple[str, int]:
    # huggingface_hub honours HF_ENDPOINT (mirrors, private hubs); probe the host it will really use.
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


def _probe(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    result: list = []

    def resolve() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            result.append(exc)

    thread = threading.Thread(target=resolve, name="hub-dns-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if not result or isinstance(result[0], OSError):
        return False
    for family, kind, proto, _, address in result[0]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(remaining)
                sock.connect(address)
                return True
        except OSError:
            continue
    return False
