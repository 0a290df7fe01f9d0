"""Load the pooled trial workers of a later stage while the current stage leaves trial slots idle.

`adls run lab1` trains one base model on two slots, then four QAT trials at once: without this,
the second QAT trial first imports torch and transformers in a new worker (seconds) while the
other core sat idle through the base training. Here the idle slots start and load those workers
during the base training instead (trainables.ray_warm_worker.warm_spare_workers).
"""

import logging

from search.experiments.experiment import SearchVariant
from search.options import RunOptions
from search.ray_session.connect import ray_address
from search.run.tuner import max_concurrent, trial_settings
from trainables.ray_adapter import warm_workers
from trainables.ray_warm_worker import warm_spare_workers

log = logging.getLogger(__name__)


def warm_idle_slots(variants: list[SearchVariant], options: RunOptions, together: bool, later: bool) -> int:
    """Start pooled workers for the slots this experiment leaves idle when a later one will want them.

    Only on a Ray this run started on this machine (on a cluster the trials' node is not known
    here), for real CPU trials in pooled workers, with no surrogate adapter. Returns how many.
    """
    if not later or not variants or ray_address(options):
        return 0
    if options.gpus_per_trial > 0 or options.trial != "real" or not warm_workers():
        return 0
    if any(variant.tune_adapter is not None for variant in variants):
        return 0
    slots = max_concurrent(options)
    # The most trials this experiment ever runs at once: its shared Tuner's, else its busiest search's.
    if together:  # one Tuner, one cap (searches with different caps never share one)
        busy = min(sum(v.num_samples for v in variants), max_concurrent(options, variants[0].max_concurrent))
    else:
        busy = max(min(v.num_samples, max_concurrent(options, v.max_concurrent)) for v in variants)
    spare = max(0, slots - busy)
    if spare:
        log.info("warming %d pooled trial worker(s) for the next stage", spare)
        warm_spare_workers(spare, trial_settings(variants[0], options)["data"])
    return spare
