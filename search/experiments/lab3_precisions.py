"""`lab3-precisions`: Lab 3 task 2, one per-layer search per Linear number format, one curve each.

"Extend the search to consider all supported precisions for the Linear layer in Mase ... Plot
one curve for each precision." Each search is `lab3-mixed`'s with another format: every Linear
layer chooses fp32 or that format, and a layer that chose the format samples its knobs from
`search.experiments.spaces.precisions.PRECISION_SPACES`. `--precisions a,b,c` runs a subset; by default every
format the compression library registers. Every format gets the same budget and seeds.

`--layers all` ranks the formats instead: every Linear (the classifier too, unless
`--keep-classifier-fp32`) takes the format, and only the format's own knobs are searched per layer.
"""

from typing import Any

import pandas as pd

from search.experiments.experiment import Experiment, SearchVariant, Stored
from search.experiments.lab3_mixed import lab3_identity, layerwise_variants
from search.experiments.lab3_start import start_experiment, starting_point
from search.experiments.spaces.precisions import check_precisions, searchable_formats
from search.options import RunOptions

# The short names (search.experiments.spaces.precisions.layer_keys) of the classification head: BERT's and
# ALBERT's `classifier`, RoBERTa's `classifier.dense`/`classifier.out_proj` (prefix), DistilBERT's
# `pre_classifier` and `classifier`.
CLASSIFIER = ("classifier", "pre_classifier")


def formats(options: RunOptions) -> list[str]:
    """The formats to search: --precisions in the order given, else every searchable format."""
    if options.precisions is None:
        return searchable_formats()
    names = list(options.precisions)
    check_precisions(names)
    return names


class Lab3PrecisionsExperiment(Experiment):
    """The searches of `lab3-precisions` (its name, lab task and requirements are in search/experiments/registry.py)."""

    # Its trials quantize: --mase-exact is part of its identity (search/run_plan.py).
    quantizes = True
    early_stopping = True
    uses_budget = True  # --budget sets its trials (part of its identity: search/run_plan.py)

    def inputs_for(self, options: RunOptions, stored: Stored) -> tuple[str, ...]:
        return (start_experiment(options, stored),)

    def identity_fields(self, options: RunOptions, stored: Stored) -> dict[str, Any]:
        return {
            **lab3_identity(options, stored),
            "precisions": formats(options),
            "layers": options.lab3_layers,
            "keep_classifier_fp32": options.keep_classifier_fp32,
        }

    def variants(self, options: RunOptions, inputs: dict[str, pd.DataFrame]) -> list[SearchVariant]:
        start = starting_point(inputs)
        # --budget (recorded in the run identity) overrides the profile's trials per format.
        budget = options.budget or options.profile.lab3_format_budget
        fp32_layers = CLASSIFIER if options.keep_classifier_fp32 else ()
        return [
            variant
            for name in formats(options)
            for variant in layerwise_variants(name, options, start, budget, options.lab3_layers, fp32_layers)
        ]
