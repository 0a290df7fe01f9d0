"""First trials of a Lab 3 search from a per-layer sensitivity ranking (`lab3-mixed --seed-from sensitivity`).

Each seed is a full point of the define-by-run integer space (search.precision_spaces): every layer
takes `integer`, the most sensitive layers the widest width of the space, the most robust the
narrowest, and each width its largest frac width of at most half the width. The searcher enqueues
them (Optuna's `enqueue_trial`), so they are the search's first trials and the sampler learns
from them like from any other trial.
"""

from collections.abc import Sequence
from typing import Any

from search.experiments.spaces.precisions import PRECISION_SPACES, TYPE_KNOB

SEED_FORMAT = "integer"
# How each seed splits the ranked layers (most sensitive first) over the widths, widest first:
# thirds over widest / middle / narrowest, then halves over middle / narrowest.
SPLITS: tuple[tuple[tuple[float, str], ...], ...] = (
    ((1 / 3, "widest"), (1 / 3, "middle"), (1 / 3, "narrowest")),
    ((1 / 2, "middle"), (1 / 2, "narrowest")),
)


def seeded_configs(
    ranked_layers: Sequence[str],
    count: int = len(SPLITS),
    choices: dict[str, Sequence[int]] | None = None,
) -> list[dict[str, Any]]:
    """Up to `count` points of the integer layerwise space, one per split of `ranked_layers`
    (most sensitive first); parameter names as the space suggests them (`<layer>.type`, ...).
    `choices` ({"width": ..., "frac_width": ...}) replaces the space's declared values (a search
    file's [space]), so that every seed is a point of the space searched."""
    knobs = PRECISION_SPACES[SEED_FORMAT].knobs
    given = choices or {}
    widths = sorted(int(w) for w in given.get("width", knobs["width"].choices))
    fracs = sorted(int(f) for f in given.get("frac_width", knobs["frac_width"].choices))
    named = {"widest": widths[-1], "middle": widths[len(widths) // 2], "narrowest": widths[0]}
    seeds = []
    for split in SPLITS[:count]:
        point: dict[str, Any] = {}
        start = 0
        for index, (share, name) in enumerate(split):
            end = len(ranked_layers) if index == len(split) - 1 else start + round(share * len(ranked_layers))
            width = named[name]
            frac = max((f for f in fracs if f <= width // 2), default=fracs[0])
            for layer in ranked_layers[start:end]:
                point[f"{layer}.{TYPE_KNOB}"] = SEED_FORMAT
                point[f"{layer}.width"] = width
                point[f"{layer}.frac_width"] = frac
            start = end
        seeds.append(point)
    return seeds
