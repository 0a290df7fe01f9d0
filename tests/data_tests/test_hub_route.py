"""The hub probe answers the way the hub client connects: direct, through HTTP(S)_PROXY, or not at all.

Real sockets on loopback: a loopback hub (tests/loopback_hub.py), a loopback proxy and a port that
refuses connections (tests/loopback_proxy.py). "Behind the proxy" means HF_ENDPOINT names the
refusing port and only the proxy's route leads from it to the hub.
"""

import socket
import threading
import time

import pytest

from tests.loopback_hub import LoopbackHub
from tests.loopback_proxy import LoopbackProxy, RefusedPort
from trainables.data.hub import clear_hub_cache, hub_proxy, hub_reachable, hub_route

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def online(monkeypatch):
    """The hub libraries' offline switches off and no proxy from the machine's own environment."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ADLS_OFFLINE", "ADLS_HUB_REACHABLE"):
        monkeypatch.delenv(name, raising=False)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    clear_hub_cache()
    return monkeypatch


@pytest.fixture
def hub():
    with LoopbackHub([]) as server:
        yield server


@pytest.fixture
def gateway(hub):
    """(refused endpoint, proxy): the hub is reachable from the endpoint's address only through the proxy."""
    refused = RefusedPort()
    with LoopbackProxy({("127.0.0.1", refused.port): ("127.0.0.1", hub.port)}) as proxy:
        yield refused, proxy
    refused.close()


def test_direct_route_to_hf_endpoint(online, hub):
    online.setenv("HF_ENDPOINT", hub.url)
    route = hub_route()
    assert route.reachable and route.proxy is None
    assert route.describe() == f"hub {hub.url} direct"
    assert hub.requests == ["HEAD /"]  # HF_ENDPOINT's host was asked, over HTTP


def test_hub_only_behind_a_proxy_is_reachable_through_it(online, hub, gateway):
    refused, proxy = gateway
    online.setenv("HF_ENDPOINT", refused.url)
    with pytest.raises(ConnectionRefusedError):  # the direct route really fails
        socket.create_connection(("127.0.0.1", refused.port), timeout=1)
    assert hub_reachable() is False  # no proxy set: the client would go direct and be refused
    online.setenv("HTTP_PROXY", proxy.url)
    clear_hub_cache()
    route = hub_route()
    assert route.reachable and route.proxy == proxy.url
    assert route.describe() == f"hub {refused.url} via proxy {proxy.url}"
    assert proxy.requests == [f"HEAD {refused.url}/"] and hub.requests == ["HEAD /"]


def test_no_proxy_sends_the_hub_direct(online, hub, gateway):
    refused, proxy = gateway
    online.setenv("HTTP_PROXY", proxy.url)
    online.setenv("NO_PROXY", "localhost,127.0.0.1")
    online.setenv("HF_ENDPOINT", refused.url)
    assert hub_proxy(refused.url) is None
    assert hub_reachable() is False and proxy.requests == []  # direct, as the client goes: refused
    online.setenv("HF_ENDPOINT", hub.url)
    clear_hub_cache()
    assert hub_route().describe() == f"hub {hub.url} direct" and proxy.requests == []


def test_the_scheme_picks_the_proxy_variable(online):
    online.setenv("HTTPS_PROXY", "proxy.example:3128")
    online.setenv("HTTP_PROXY", "http://user:secret@other.example:8080")
    assert hub_proxy("https://huggingface.co") == "http://proxy.example:3128"
    assert hub_proxy("http://mirror.example") == "http://user:secret@other.example:8080"
    online.setenv("NO_PROXY", ".example")
    assert hub_proxy("http://mirror.example") is None and hub_proxy("https://huggingface.co") is not None
    online.delenv("NO_PROXY")
    online.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    online.setenv("ADLS_HUB_REACHABLE", "0")  # the run's answer: describe() without probing
    assert hub_route().describe() == (
        "hub http://127.0.0.1:9 unreachable (via proxy http://user:***@other.example:8080): local cache only"
    )


def test_a_silent_hub_or_a_dead_proxy_is_unreachable_within_the_timeout(online):
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
    online.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
    start = time.monotonic()
    assert hub_reachable() is False  # the default bound: 2 s
    assert 1.9 < time.monotonic() - start < 2.3
    dead = RefusedPort()
    online.setenv("HTTP_PROXY", dead.url)
    clear_hub_cache()
    start = time.monotonic()
    assert hub_reachable() is False and time.monotonic() - start < 1.5  # refused: no wait
    dead.close()
    silent.close()


def test_offline_variables_answer_at_once(online):
    online.setenv("HF_HUB_OFFLINE", "1")
    route = hub_route()
    assert not route.reachable and route.describe() == "hub offline (HF_HUB_OFFLINE=1): local cache only"
