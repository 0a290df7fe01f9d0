"""Cost of writing finished trials into the study database: Optuna's per-trial path against ours.

The driver writes the trials that finished since Tune's last snapshot into the Optuna study
(search/study/database.py). Before: one `RDBStorage.create_new_trial(template_trial=...)` per trial
(Optuna's path, a transaction and ~2 SQL round trips per parameter each). After: one transaction per
snapshot (search/study/bulk_write.py). Both write the same trials of the tutorial NAS space (11
parameters, a value, the tune_trial_id attribute), sampled by the real StudySearch in memory,
in snapshots of `--batch` trials into a fresh study; the two sides alternate, `--repeats` times,
and the table gives the min and median per trial. Writes bench/out/study_writes.json.

    .venv/bin/python bench/bench_study_writes.py                 # SQLite (the default study database)
    .venv/bin/python bench/bench_study_writes.py --postgres      # a throwaway PostgreSQL as well
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))  # run as a script: the project's packages and tests/ helpers

import optuna  # noqa: E402
from ray.tune.search.optuna import OptunaSearch  # noqa: E402

from search.experiments.spaces.nas import get_space  # noqa: E402
from search.study.bulk_write import write_trials  # noqa: E402
from search.study.database import StudySearch, open_storage  # noqa: E402

OUT = PROJECT / "bench" / "out" / "study_writes.json"


def finished_trials(count: int) -> list[optuna.trial.FrozenTrial]:
    """`count` finished trials of the tutorial space, sampled and told by the real StudySearch."""
    space = OptunaSearch.convert_search_space(get_space("tutorial").tune_space())
    searcher = StudySearch(
        space=space,
        metric="accuracy",
        mode="max",
        sampler=optuna.samplers.RandomSampler(seed=0),
        study_name="bench",
        url=None,
    )
    for i in range(count):
        searcher.suggest(f"trial_{i:05d}")
        searcher.on_trial_complete(f"trial_{i:05d}", {"accuracy": i / count})
    return searcher._ot_study.get_trials(deepcopy=False)


def per_trial(rdb: optuna.storages.RDBStorage, study_id: int, trials: list, batch: int) -> None:
    for trial in trials:
        rdb.create_new_trial(study_id, template_trial=trial)


def one_transaction(rdb: optuna.storages.RDBStorage, study_id: int, trials: list, batch: int) -> None:
    for start in range(0, len(trials), batch):
        write_trials(rdb, study_id, trials[start : start + batch])


def timed_write(url: str, name: str, trials: list, batch: int, write) -> float:
    """Seconds per trial to write `trials` into a new study `name` at `url`; checks they read back."""
    rdb = open_storage(url)
    study = optuna.create_study(storage=rdb, study_name=name, direction="maximize")
    started = time.perf_counter()
    write(rdb, study._study_id, trials, batch)
    seconds = (time.perf_counter() - started) / len(trials)
    back = optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)
    assert [t.params for t in back] == [t.params for t in trials], name
    assert [t.value for t in back] == [t.value for t in trials], name
    rdb.engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32, help="trials per snapshot (32 slots finish ~32)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also a throwaway PostgreSQL server")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = finished_trials(args.trials)
    databases = {"sqlite": f"sqlite:///{tempfile.mkdtemp(prefix='adls-writes-')}/optuna.db"}
    postgres = None
    if args.postgres:
        from tests.loopback_postgres import LocalPostgres

        postgres = LocalPostgres()
        databases["postgresql"] = postgres.start()
    sides = {"per_trial (before)": per_trial, "one_transaction (after)": one_transaction}
    results: dict[str, dict[str, list[float]]] = {db: {side: [] for side in sides} for db in databases}
    try:
        for repeat in range(args.repeats):
            for db, url in databases.items():
                order = list(sides.items())
                for side, write in order if repeat % 2 == 0 else order[::-1]:
                    name = f"{side.split()[0]}-{repeat}"
                    results[db][side].append(timed_write(url, name, trials, args.batch, write))
    finally:
        if postgres:
            postgres.stop()
    rows = []
    print(
        f"{args.trials} trials in snapshots of {args.batch}, {args.repeats} repeats, load {os.getloadavg()}"
    )
    print(f"{'database':<11} {'side':<24} {'min ms/trial':>12} {'median ms/trial':>15}")
    for db, by_side in results.items():
        for side, seconds in by_side.items():
            row = {
                "database": db,
                "side": side,
                "min_ms": min(seconds) * 1000,
                "median_ms": statistics.median(seconds) * 1000,
                "all_ms": [s * 1000 for s in seconds],
            }
            rows.append(row)
            print(f"{db:<11} {side:<24} {row['min_ms']:>12.1f} {row['median_ms']:>15.1f}")
        before, after = (statistics.median(s) for s in by_side.values())
        print(f"{db:<11} {'speed-up (median)':<24} {before / after:>12.1f}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    report = {"trials": args.trials, "batch": args.batch, "load_average": os.getloadavg(), "runs": rows}
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
