"""A model, not a measurement: the share of FIFO's training epochs that Tune's ASHA rule leaves.

Simulates the rule of Ray Tune's asynchronous successive halving (`_Bracket` in
ray/tune/schedulers/async_hyperband.py: rungs at grace * rf^k below max_t; at a rung a trial stops
when its score is below the (1 - 1/rf) percentile of the scores recorded there before it) for
trials arriving one after another, each with a quality drawn at random plus noise at every rung,
each rung decided at the first progress report at or after it. Real searches run two trials at a
time and TPE's later trials are better, both of which let more trials through, so measured shares
are higher (bench/bench_early_stopping.py measures them). Prints a table, writes
bench/out/asha_rule_model.json.

    python bench/model_asha_rule.py [--repeats 4000]
"""

import argparse
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "out"
RUNG_SLACK = 0.98  # as search/schedulers/early_stopping.py
RULES = {
    "before: grace 1/4, rf 3, reports at 1/4, 1/2, 3/4": (0.25, 3, [0.25, 0.5, 0.75]),
    "now: grace 1/4, rf 4 (one decision, at 1/4)": (0.25, 4, [0.25, 0.5, 0.75]),
    "grace 1/8, rf 3, reports every 1/8": (0.125, 3, [k / 8 for k in range(1, 8)]),
    "grace 1/8, rf 4, reports every 1/8": (0.125, 4, [k / 8 for k in range(1, 8)]),
}


def epochs_share(
    trials: int,
    grace: float,
    rf: float,
    reports: list[float],
    rng: np.random.Generator,
    repeats: int,
    noise: float,
) -> float:
    """Mean epochs trained per trial (a full trial is 1) under the rule."""
    rungs, rung = [], grace * RUNG_SLACK
    while rung < 1:
        rungs.append(rung)
        rung *= rf
    decided = [min((p for p in reports if p >= r), default=None) for r in rungs]
    shares = []
    for _ in range(repeats):
        quality = rng.normal(size=trials)
        recorded: list[list[float]] = [[] for _ in rungs]
        epochs = 0.0
        for trial in range(trials):
            trained = 1.0
            for index, at in enumerate(decided):
                if at is None:
                    continue
                score = quality[trial] + noise * rng.normal()
                cutoff = np.percentile(recorded[index], (1 - 1 / rf) * 100) if recorded[index] else None
                recorded[index].append(score)
                if cutoff is not None and score < cutoff:
                    trained = at
                    break
            epochs += trained
        shares.append(epochs / trials)
    return float(np.mean(shares))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=4000)
    parser.add_argument(
        "--noise", type=float, default=0.5, help="rung-score noise, in units of the trials' spread"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    table = {
        name: {n: epochs_share(n, *rule, rng, args.repeats, args.noise) for n in (8, 20)}
        for name, rule in RULES.items()
    }
    print(f"{'rule':52s} {'8 trials':>9s} {'20 trials':>10s}")
    for name, shares in table.items():
        print(f"{name:52s} {shares[8]:9.2f} {shares[20]:10.2f}")
    OUT.mkdir(exist_ok=True)
    (OUT / "asha_rule_model.json").write_text(json.dumps({"noise": args.noise, "shares": table}, indent=1))


if __name__ == "__main__":
    main()
