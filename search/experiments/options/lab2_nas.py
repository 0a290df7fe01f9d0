"""The run options only Lab 2's NAS search reads (`--trial`, `--surrogate-seconds`), declared here.

`search/options.py` takes these fields into RunOptions (search/option_spec.py says how). Torch-free.
"""

from search.option_spec import non_negative_float, run_option

# What a trial does: train for real, or the rehearsal surrogate (trainables/trials/surrogate.py).
TRIAL_KINDS = ("real", "surrogate")
NAS = "lab2-nas"


def _seconds_problem(flag: str, value: float) -> str | None:
    return f"{flag}={value} must be >= 0" if value < 0 else None


TRIAL = run_option(
    "--trial",
    "real",
    choices=TRIAL_KINDS,
    help="surrogate: a rehearsal that sleeps instead of training (lab2-nas; bench/bench_scale.py)",
    owners=(NAS,),
)
SURROGATE_SECONDS = run_option(
    "--surrogate-seconds",
    2.0,
    parse=non_negative_float,
    check=_seconds_problem,
    help="how long a surrogate trial sleeps",
    owners=(NAS,),
)
