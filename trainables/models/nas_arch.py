"""Turn one sampled NAS configuration into a BERT shape plus the attention projections to drop.

A NAS trial's parameters use BERT's own field names for the shape (`num_hidden_layers`,
`num_attention_heads`, `hidden_size`, `intermediate_size`; Tutorial 5 set `num_layers` and
`num_heads`, which BertConfig silently ignores) and one Linear/Identity choice per square
projection kind, shared by every layer: `query_proj`, `key_proj`, `value_proj`, `output_proj`
(attention), and, in Tutorial 5's full space, `pooler_proj` and `ffn_in_proj` / `ffn_out_proj`
(the FFN's projections, which take effect only when intermediate_size == hidden_size, i.e. when
they are square), each "linear" or "identity". The search space itself lives in search/experiments/spaces/nas.py.

A `--model` of another family (trainables/models/families.py) is searched under its own field
names (DistilBERT's `n_layers`, `n_heads`, `dim`, `hidden_dim`), without projection choices.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from errors import ConfigError
from trainables.models.families import BERT, Family

if TYPE_CHECKING:  # torch only where a built model is read: search/experiments/spaces/nas.py plans without it
    from torch import nn

ATTENTION_PROJECTIONS = ("query", "key", "value", "output")
# Tutorial 5 offers Identity for every square Linear: also the pooler's dense layer (hidden ->
# hidden) and the FFN's two projections when intermediate_size == hidden_size.
SQUARE_EXTRA_PROJECTIONS = ("pooler", "ffn_in", "ffn_out")
PROJECTIONS = (*ATTENTION_PROJECTIONS, *SQUARE_EXTRA_PROJECTIONS)
ARCH_FIELDS = ("num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size")
LINEAR, IDENTITY = "linear", "identity"
PROJECTION_CHOICES = (LINEAR, IDENTITY)
# Sampled parameter name -> the projection kind ModelRecipe.identity_projections names.
PROJECTION_PARAMS = {f"{kind}_proj": kind for kind in ATTENTION_PROJECTIONS}
# The further square projections of Tutorial 5's constructor (pooler, FFN when square).
EXTRA_PROJECTION_PARAMS = {f"{kind}_proj": kind for kind in SQUARE_EXTRA_PROJECTIONS}
FFN_PROJECTIONS = ("ffn_in", "ffn_out")


def arch_from_params(params: Mapping[str, Any], family: Family = BERT) -> tuple[dict[str, int], list[str]]:
    """(arch overrides, identity projection kinds) of one sampled NAS configuration.

    `params` may hold other keys (a trial config does); they are ignored. Every shape field of
    `family` (ARCH_FIELDS for BERT) is required; a missing `<kind>_proj` means Linear (only BERT has
    projection choices). Raises ConfigError naming the key when a value is missing or not allowed,
    or when the hidden size is not a multiple of the head count.
    """
    fields = family.shape_fields
    arch = {}
    for field in fields:
        if field not in params:
            raise ConfigError(f"NAS parameters lack {field!r}; every one of {list(fields)} is needed")
        value = params[field]
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 1:
            raise ConfigError(f"NAS parameter {field}={value!r} is not a positive whole number")
        arch[field] = int(value)
    if arch[family.hidden] % arch[family.heads]:
        raise ConfigError(
            f"NAS parameters {family.hidden}={arch[family.hidden]} and {family.heads}="
            f"{arch[family.heads]}: the hidden size must be a multiple of the head count"
        )
    if family is not BERT:
        return arch, []
    identity = []
    for param, kind in {**PROJECTION_PARAMS, **EXTRA_PROJECTION_PARAMS}.items():
        choice = params.get(param, LINEAR)
        if choice not in PROJECTION_CHOICES:
            raise ConfigError(
                f"NAS parameter {param}={choice!r} is not allowed; choose one of {list(PROJECTION_CHOICES)}"
            )
        # As in Tutorial 5, only square Linears get the choice: the FFN's when intermediate == hidden.
        square = kind not in FFN_PROJECTIONS or arch["intermediate_size"] == arch["hidden_size"]
        if choice == IDENTITY and square:
            identity.append(kind)
    return arch, identity


def params_from_arch(arch: Mapping[str, int], identity_projections: list[str]) -> dict[str, Any]:
    """The inverse of `arch_from_params`: NAS parameters of a shape and its identity projections."""
    params: dict[str, Any] = {field: int(arch[field]) for field in ARCH_FIELDS}
    for param, kind in PROJECTION_PARAMS.items():
        params[param] = IDENTITY if kind in identity_projections else LINEAR
    for param, kind in EXTRA_PROJECTION_PARAMS.items():
        if kind in identity_projections:
            params[param] = IDENTITY
    return params


def built_identity_projections(model: "nn.Module") -> list[str]:
    """The projection kinds that are nn.Identity in every layer of a built BERT classifier (none elsewhere)."""
    from torch import nn

    if not hasattr(model, "bert"):
        return []
    layers = model.bert.encoder.layer
    modules = {
        "query": lambda layer: layer.attention.self.query,
        "key": lambda layer: layer.attention.self.key,
        "value": lambda layer: layer.attention.self.value,
        "output": lambda layer: layer.attention.output.dense,
        "ffn_in": lambda layer: layer.intermediate.dense,
        "ffn_out": lambda layer: layer.output.dense,
    }
    built = [
        kind
        for kind in PROJECTIONS
        if kind != "pooler" and all(isinstance(modules[kind](layer), nn.Identity) for layer in layers)
    ]
    if model.bert.pooler is not None and isinstance(model.bert.pooler.dense, nn.Identity):
        built.append("pooler")
    return sorted(built, key=PROJECTIONS.index)
