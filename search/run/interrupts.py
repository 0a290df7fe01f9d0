"""Ctrl-C during `Tuner.fit()` stops the run, whenever it arrives.

Ray Tune (ray/tune/tune.py, `_setup_signal_catching`) replaces the SIGINT handler while it runs
a search. Its handler sets an event that the tuning loop reads, then puts the previous handler
back. Two gaps follow, both seen here:

- A SIGINT that arrives after the loop's last check (all trials finished, Tune writing its final
  state) sets the event and nothing reads it: `fit()` returns normally and the run goes on to the
  next search as if no one had pressed Ctrl-C.
- When no SIGINT arrives, Tune never puts the previous handler back, so a Ctrl-C between two
  searches (while the table or figures are written) is swallowed by a stale Tune handler.

`fit_or_interrupt` closes both: it restores the handler after `fit()` and raises
KeyboardInterrupt when Tune's handler fired (Tune's handler restores ours when it fires, and
only then). Tune's public switch `TUNE_DISABLE_SIGINT_HANDLER=1` is honoured (then `fit()` runs
as is) but not set by us: without Tune's handler a Ctrl-C skips Tune's last snapshot, so the
Optuna study misses the trials finished since the one before (docs/FRAMEWORK.md, "Private Ray
Tune / Optuna internals").
"""

import os
import signal
import threading
from typing import Any

# Tune's SIGINT handling (ray/tune/tune.py, `_setup_signal_catching`), checked with this version;
# tests/search_tests/test_private_internals.py fails where the function is gone.
CHECKED_WITH = {"ray": "2.60.0"}


def _tune_catches_sigint() -> bool:
    """Whether Tune will install its SIGINT handler (it does so only on the main thread)."""
    disabled = int(os.environ.get("TUNE_DISABLE_SIGINT_HANDLER", "0"))
    return not disabled and threading.current_thread() is threading.main_thread()


def fit_or_interrupt(tuner: Any) -> Any:
    """`tuner.fit()`, then KeyboardInterrupt if a SIGINT reached Tune during it.

    The SIGINT handler in place before the call is in place after it, whatever happened.
    """
    if not _tune_catches_sigint():
        return tuner.fit()
    # A sentinel handler tells "Tune fired and put this back" from "Tune's handler is still in".
    before = signal.getsignal(signal.SIGINT)

    def sentinel(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, sentinel)
    try:
        grid = tuner.fit()
        fired = signal.getsignal(signal.SIGINT) is sentinel
    finally:
        signal.signal(signal.SIGINT, before)
    if fired:
        raise KeyboardInterrupt("Ctrl-C reached Ray Tune while the search ran")
    return grid
