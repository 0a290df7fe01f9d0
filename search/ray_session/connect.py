"""Reach the Ray a run uses: check --address in seconds, join a cluster or start a private Ray, check resources.

`start_ray(options)` is idempotent (an initialised Ray is kept). Every refusal is a ConfigError
raised before any trial starts.
"""

import logging
import os
import threading
from urllib.parse import urlsplit

from errors import ConfigError
from search import storage
from search.options import RunOptions
from search.ray_session.reaper import start_reaper
from search.ray_session.start import start_local_ray
from search.ray_session.tcp_probe import unreachable_reason

log = logging.getLogger(__name__)

ADDRESS_TIMEOUT_S = 10.0


def check_ray_address(address: str | None, timeout: float = ADDRESS_TIMEOUT_S) -> None:
    """Refuse, in seconds and before Ray starts, an --address that is malformed or where nothing listens.

    `ray.init` would retry such an address for minutes, deaf to Ctrl-C. `auto` (find the cluster
    on this machine) and no address (start Ray here) are left to Ray.
    """
    if not address or address.strip() in ("auto", "local"):
        return
    usage = "give HOST:PORT of the cluster's head (e.g. 10.0.0.5:6379), ray://HOST:10001 or auto"
    text = address.strip()
    try:
        parsed = urlsplit(text if "://" in text else f"ray://{text}")
        host, port = parsed.hostname, parsed.port
    except ValueError as error:  # a port out of range, a broken [IPv6] literal
        raise ConfigError(f"--address {address!r} is not usable ({error}); {usage}") from None
    if parsed.scheme not in ("ray", "http", "https") or not host or port is None or " " in text:
        raise ConfigError(f"--address {address!r} is not an address of a Ray cluster; {usage}")
    reason = unreachable_reason(host, port, timeout)
    if reason:
        raise ConfigError(
            f"nothing answers at --address {address!r} ({reason}); start the cluster (ray start --head, "
            "ray up) or drop --address to run on this machine"
        )


def ray_address(options: RunOptions) -> str | None:
    """The cluster this run joins (--address, else RAY_ADDRESS), or None: Ray starts in this process."""
    return options.address or os.environ.get("RAY_ADDRESS")


def start_ray(options: RunOptions) -> None:
    """Join the cluster at --address (or RAY_ADDRESS), or start Ray in this process.

    A Ray started here runs trials at this process's niceness (search/ray_session/start.py). Worker
    output is shown only with `--verbose`.
    """
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    address = ray_address(options)
    # ray.init mostly waits for Ray's processes to come up: the figures' matplotlib (0.5 s), which
    # the run needs only at its end, loads meanwhile.
    threading.Thread(target=_load_figures, name="adls-load-figures", daemon=True).start()
    try:
        if address:
            ray.init(address=address, log_to_driver=options.verbose, logging_level=logging.WARNING)
        else:
            # "local" always starts a private instance, never attaching to a `ray start` cluster
            # that happens to run on this machine.
            start_local_ray(log_to_driver=options.verbose)
            # Ray's processes here are this driver's: if it dies without ray.shutdown() (SIGKILL),
            # the watchdog stops them instead of leaving trials running (search/ray_session/reaper.py).
            start_reaper()
    except ConnectionError as error:
        raise ConfigError(
            f"cannot reach a Ray cluster at {address!r}: {error}; start one or drop --address"
        ) from None
    check_resources(options, joined=bool(address))


def _load_figures() -> None:
    try:
        import analysis.figures  # noqa: F401
    except Exception:  # noqa: BLE001 - the run imports it again where it draws, and says what failed
        log.debug("loading analysis.figures early failed", exc_info=True)


def check_resources(options: RunOptions, joined: bool) -> None:
    """Refuse, before any trial starts, a run whose trials could never run or whose results would scatter.

    On a joined cluster a local --storage folder must be visible from every node. A private local
    Ray cannot grow, so --gpus-per-trial there needs a GPU Ray can see (Tune would wait forever);
    a joined cluster may still add GPU nodes (autoscaling), so it is not refused there.
    """
    import ray

    from search.ray_session.shared_folder import require_shared_storage

    if joined:
        location = storage.normalize(options.storage)
        if not storage.is_uri(location):
            require_shared_storage(location)
    elif options.gpus_per_trial > 0 and ray.cluster_resources().get("GPU", 0) == 0:
        raise ConfigError(
            f"--gpus-per-trial={options.gpus_per_trial} but Ray sees no GPU on this machine; drop the option "
            "(trials then use the CPU) or submit to a cluster with GPUs (adls submit)"
        )
