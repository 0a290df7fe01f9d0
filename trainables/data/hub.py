"""Is the Hugging Face hub reachable, and by which route? Answered in seconds, never by waiting on a dead network."""

import logging
import os
import threading
import time
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ADLS_OFFLINE")
_lock = threading.Lock()
_cached: "HubRoute | None" = None
# The driver's answer, handed to the Ray workers it starts (search/ray_session/start.py), so a run probes
# the hub once, not once per worker process.
RUN_ANSWER_ENV = "ADLS_HUB_REACHABLE"
DEFAULT_ENDPOINT = "https://huggingface.co"
# Answers a forward proxy gives when it cannot reach the hub: they do not come from the hub.
_GATEWAY_ERRORS = (502, 503, 504)


@dataclass(frozen=True)
class HubRoute:
    """How this process reaches the hub: its endpoint, the proxy in between (None: direct), and whether it answered.

    `offline` names the variable that switched the hub off (HF_HUB_OFFLINE=1, ...), else None.
    """

    endpoint: str
    proxy: str | None
    reachable: bool
    offline: str | None = None

    def describe(self) -> str:
        """One phrase for the run's first line: direct, via which proxy, or offline (local cache only)."""
        if self.offline:
            return f"hub offline ({self.offline}=1): local cache only"
        if self.reachable:
            return f"hub {self.endpoint} {self.way}"
        return f"hub {self.endpoint} unreachable ({self.way}): local cache only"

    @property
    def way(self) -> str:
        """ "direct" or "via proxy <url>" (a password in the proxy URL masked)."""
        return f"via proxy {_without_password(self.proxy)}" if self.proxy else "direct"


def offline_by_env() -> bool:
    """True when HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE or ADLS_OFFLINE is set to a true value."""
    return _offline_variable() is not None


def hub_endpoint() -> str:
    """The hub the libraries use: $HF_ENDPOINT (a mirror, a private hub) or https://huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_proxy(url: str) -> str | None:
    """The proxy a request to `url` goes through under this environment, or None for a direct connection.

    HTTP_PROXY / HTTPS_PROXY / ALL_PROXY (either case) by the URL's scheme, and NO_PROXY's hosts
    go direct, read as the hub client (httpx2, trust_env) reads them.
    """
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    if proxies.get("no") and (
        proxies["no"].strip() == "*"
        or urllib.request.proxy_bypass_environment(parts.netloc, proxies)
        or urllib.request.proxy_bypass_environment(parts.hostname or "", proxies)
    ):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def hub_route(timeout: float = 2.0) -> HubRoute:
    """The route to the hub, probed once per process (see hub_reachable for what "reachable" means)."""
    global _cached
    endpoint = hub_endpoint()
    proxy = hub_proxy(endpoint)
    offline = _offline_variable()
    if offline is not None:
        return HubRoute(endpoint, proxy, False, offline)
    shared = os.environ.get(RUN_ANSWER_ENV, "").strip()
    if shared in ("0", "1"):
        return HubRoute(endpoint, proxy, shared == "1")
    with _lock:
        if _cached is None or (_cached.endpoint, _cached.proxy) != (endpoint, proxy):
            start = time.monotonic()
            _cached = HubRoute(endpoint, proxy, _probe(endpoint, timeout))
            log.info("%s (probed in %.2fs)", _cached.describe(), time.monotonic() - start)
        return _cached


def hub_reachable(timeout: float = 2.0) -> bool:
    """True if the hub answers an HTTP request within `timeout`, over the route the hub client takes.

    The probe is a HEAD of $HF_ENDPOINT's root (https://huggingface.co without it), sent by httpx2
    (huggingface_hub's HTTP client) with the environment's proxies: through HTTP(S)_PROXY unless
    NO_PROXY names the host, as every hub download of this process will go. Any answer counts except
    502/503/504 (a proxy's "cannot reach it"). False at once when HF_HUB_OFFLINE=1 /
    TRANSFORMERS_OFFLINE=1 / ADLS_OFFLINE=1. The probe runs once per process and its answer is
    cached (the variables are still honoured on every call); a process started with
    ADLS_HUB_REACHABLE=1/0 (a Ray worker of a run whose driver probed) takes that answer without
    probing. The whole probe, DNS included, is bounded by `timeout`: it runs in a daemon thread,
    because a resolver that never answers would otherwise block for the system's own 30 s+.
    """
    return hub_route(timeout).reachable


def clear_hub_cache() -> None:
    """Forget the cached probe result, so the next hub_reachable() call probes again (for tests)."""
    global _cached
    with _lock:
        _cached = None


def _offline_variable() -> str | None:
    for name in _OFFLINE_VARIABLES:
        if os.environ.get(name, "").strip().lower() in _TRUE:
            return name
    return None


def _probe(endpoint: str, timeout: float) -> bool:
    import httpx2  # huggingface_hub's HTTP client: the same proxy and NO_PROXY handling

    result: list = []

    def ask() -> None:
        try:
            with httpx2.Client(trust_env=True, timeout=timeout, follow_redirects=False) as client:
                result.append(client.head(endpoint + "/").status_code)
        except Exception as error:  # refused, timed out, a proxy that will not tunnel: unreachable
            result.append(error)

    thread = threading.Thread(target=ask, name="hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if not result or not isinstance(result[0], int):
        log.debug("hub probe of %s: %s", endpoint, result[0] if result else "no answer in time")
        return False
    return result[0] not in _GATEWAY_ERRORS


def _without_password(url: str | None) -> str:
    parts = urlsplit(url or "")
    if parts.password is None:
        return url or ""
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
