"""The run options only Lab 3 reads (lab3-mixed, lab3-precisions), declared and checked here.

`search/options.py` takes these fields into RunOptions; the argument parser, the cluster job's
words and the search-file keys come from them (search/option_spec.py). Torch-free: `adls --help`
imports this module.
"""

from typing import Any

from search.option_spec import comma_list, comma_list_or_none, run_option, show_comma_list

# --from: the model Lab 3 starts from (search/experiments/starts/lab3_start.py).
START_CHOICES = ("base", "lab2-nas")
# --objective names -> (reported metric, direction): accuracy alone, or accuracy and one cost.
OBJECTIVE_METRICS = {
    "accuracy": ("accuracy", "max"),
    "size": ("cost_size_mb", "min"),
    "bops": ("cost_bops_per_token", "min"),
    "memory": ("cost_activation_bits_per_token", "min"),
}
OBJECTIVES = tuple(OBJECTIVE_METRICS)
# lab3-mixed --seed-from: the experiment whose results choose the search's first trials.
SEED_SOURCES = ("sensitivity",)
COMPRESS_AWARE, SENSITIVITY = "lab2-compress-aware", "sensitivity"
# lab3-precisions --layers: each Linear chooses fp32 or the format, or all take the format.
LAB3_LAYER_MODES = ("choose", "all")
MIXED, PRECISIONS = "lab3-mixed", "lab3-precisions"


def _objectives_problem(flag: str, value: tuple[str, ...]) -> str | None:
    text = ",".join(value)
    if any(name not in OBJECTIVES for name in value) or len(set(value)) != len(value):
        return f"{flag} {text!r}: list each of {list(OBJECTIVES)} at most once"
    if "accuracy" not in value or len(value) > 2:
        return f"{flag} {text!r} must include accuracy: accuracy alone or accuracy and one cost, e.g. accuracy,bops"
    return None


def _constraints_problem(flag: str, value: tuple[str, ...]) -> str | None:
    from errors import ConfigError
    from search.study.constraints import parse_constraints

    try:
        parse_constraints(value)
    except ConfigError as error:
        return str(error)
    return None


def _precisions_problem(flag: str, value: tuple[str, ...] | None) -> str | None:
    if value is None:
        return None
    from errors import ConfigError
    from search.experiments.spaces.precisions import check_precisions  # the formats' registry imports torch

    try:
        # `format:width` entries are the sensitivity experiment's (it checks the width).
        check_precisions(list(dict.fromkeys(p.partition(":")[0] for p in value)))
    except ConfigError as error:
        return str(error)
    if len(set(value)) != len(value):
        return f"{flag} lists a format twice: {','.join(value)}"
    return None


def check_together(values: dict[str, Any]) -> str | None:
    """The problem with Lab 3's options taken together (None: none)."""
    if values["keep_classifier_fp32"] and values["lab3_layers"] != "all":
        return "--keep-classifier-fp32 only applies with --layers all; add --layers all or drop it"
    return None


START_FROM = run_option(
    "--from", None, choices=START_CHOICES, help="Lab 3 starting model", owners=(MIXED, PRECISIONS)
)
PRECISIONS_LIST = run_option(
    "--precisions",
    None,
    parse=comma_list_or_none,
    show=show_comma_list,
    check=_precisions_problem,
    help="comma list of formats for lab3-precisions; sensitivity also takes format:width "
    "(default integer:4,integer:8)",
    owners=(PRECISIONS, SENSITIVITY),
)
OBJECTIVE = run_option(
    "--objective",
    ("accuracy",),
    parse=comma_list,
    show=show_comma_list,
    check=_objectives_problem,
    help=f"{OBJECTIVES[0]}, or accuracy and one cost: {', '.join('accuracy,' + o for o in OBJECTIVES[1:])}",
    owners=(MIXED, PRECISIONS, COMPRESS_AWARE),
)
CONSTRAINTS = run_option(
    "--constraint",
    (),
    parse=comma_list,
    show=show_comma_list,
    check=_constraints_problem,
    help='cost budgets, comma list, e.g. "bops_per_token<=1e9,avg_linear_bits<=6" (docs/formats.md)',
    owners=(MIXED, PRECISIONS, COMPRESS_AWARE),
)
SEED_FROM = run_option(
    "--seed-from",
    None,
    choices=SEED_SOURCES,
    help="lab3-mixed: first trials from a per-layer sensitivity run (sensitive layers widest)",
    owners=(MIXED,),
)
LAYERS = run_option(
    "--layers",
    "choose",
    choices=LAB3_LAYER_MODES,
    help="lab3-precisions: each Linear chooses fp32 or the format (choose), or every Linear takes it (all)",
    owners=(PRECISIONS,),
)
KEEP_CLASSIFIER_FP32 = run_option(
    "--keep-classifier-fp32",
    False,
    switch=True,
    help="with --layers all: leave the classifier in fp32",
    owners=(PRECISIONS,),
)
