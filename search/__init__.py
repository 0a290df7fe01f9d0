"""The searches: named experiments run as Ray Tune searches driven by Optuna, chained by stage.

`runner` runs experiments in dependency order and writes `run.json` (`run_plan` reads it back);
`options` is what a run is told, `profiles` how big each experiment is, `storage` where results
live (a local folder or a URI). Subpackages: `experiments` (the registry, one module per experiment,
their search spaces), `run` (one Tune search: the Tuner, resume, results table, checkpoints kept,
progress, the lock), `study` (the Optuna side: the study database and search, bulk writes,
samplers), `schedulers` (early stopping: ASHA, synchronous halving, the factory), `ray_session`
(reaching a cluster or starting a private Ray, and cleaning up after it).
"""
