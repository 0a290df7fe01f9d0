"""One TCP connect with a timeout: whether something listens at HOST:PORT, in seconds, not minutes.

Ray's clients retry an address where nothing listens for minutes, deaf to Ctrl-C; the run
(`--address`) and the job commands (the Jobs API) probe first and fail with one line instead.
"""

import socket


def unreachable_reason(host: str, port: int, timeout: float) -> str | None:
    """None when a TCP connection to host:port opens within `timeout` s, else why not (one phrase)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as error:
        return "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error))
