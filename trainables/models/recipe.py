"""A model as a recipe (shape + compression steps), so a checkpoint can be rebuilt anywhere."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn
from transformers import BertForSequenceClassification

from trainables.compress import prune_model, quantize_model
from trainables.models.classifier import build_model
from trainables.models.nas_arch import PROJECTIONS


@dataclass
class ModelRecipe:
    """Everything needed to rebuild a trained model before loading its state dict."""

    vocab_size: int
    num_labels: int = 2
    arch: dict[str, Any] = field(default_factory=dict)
    identity_projections: list[str] = field(default_factory=list)
    quantization: dict[str, Any] | None = None
    pruning: dict[str, Any] | None = None
    seed: int = 0
    # The hub snapshot ("<repo>@<commit>") the weights started from; None: the seeded init. Only the
    # base trial builds from it; a saved checkpoint overwrites every weight, so loading needs no hub.
    pretrained: str | None = None
    # The `--model`'s Hugging Face config as a dict (family and shape); None: the built-in bert-tiny.
    # `arch` then uses the family's own field names.
    model_config: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelRecipe":
        return cls(**dict(data))

    @property
    def model_type(self) -> str:
        """The family this recipe builds (bert for the built-in bert-tiny)."""
        return str((self.model_config or {}).get("model_type", "bert"))


def replace_projections_with_identity(model: BertForSequenceClassification, kinds: list[str]) -> None:
    """Replace the square projections named in `kinds` with nn.Identity (in every layer).

    `output` is the attention output's dense layer (hidden -> hidden), `pooler` the pooler's
    dense layer (hidden -> hidden), `ffn_in` / `ffn_out` the FFN's intermediate and output dense
    layers, square only when intermediate_size == hidden_size (ValueError otherwise). This is
    Tutorial 5's Linear-vs-Identity choice; the FFN's activation stays in place.
    """
    unknown = set(kinds) - set(PROJECTIONS)
    if unknown:
        raise ValueError(f"unknown projections {sorted(unknown)}; choose from {list(PROJECTIONS)}")
    if "pooler" in kinds and model.bert.pooler is not None:
        model.bert.pooler.dense = nn.Identity()
    for layer in model.bert.encoder.layer:
        for kind in kinds:
            if kind == "output":
                layer.attention.output.dense = nn.Identity()
            elif kind in ("query", "key", "value"):
                setattr(layer.attention.self, kind, nn.Identity())
            elif kind in ("ffn_in", "ffn_out"):
                owner = layer.intermediate if kind == "ffn_in" else layer.output
                if owner.dense.in_features != owner.dense.out_features:
                    raise ValueError(
                        f"projection {kind!r} is not square ({owner.dense.in_features} -> "
                        f"{owner.dense.out_features}); Identity needs intermediate_size == hidden_size"
                    )
                owner.dense = nn.Identity()


def build_from_recipe(recipe: ModelRecipe, pretrained: bool = False) -> BertForSequenceClassification:
    """Build the model a recipe describes: shape, identity projections, quantization, pruning.

    pretrained=True starts from the recipe's hub snapshot (when it names one) instead of the seeded init.
    """
    start = recipe.pretrained if pretrained else None
    model = build_model(
        recipe.vocab_size, recipe.num_labels, recipe.arch, start, recipe.seed, recipe.model_config
    )
    if recipe.identity_projections:
        replace_projections_with_identity(model, recipe.identity_projections)
    if recipe.quantization:
        quantize_model(model, recipe.quantization)
    if recipe.pruning:
        prune_model(model, recipe.pruning, seed=recipe.seed)
    return model
