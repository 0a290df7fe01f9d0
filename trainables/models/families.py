"""The encoder families a run may bring (`--model`): what each calls its shape fields, and what we do for it.

A family is a Hugging Face `model_type`. Every family that `AutoModelForSequenceClassification`
loads trains, quantizes, prunes and is inspected with the layer names read from the model itself;
the families listed here are the ones tested (BERT, DistilBERT, RoBERTa, ALBERT), and the ones Lab 2
can search: `shape_fields` maps the four shape knobs (layers, heads, hidden size, intermediate
size) to the family's own config field names. Only BERT trains with our fast CPU attention
(trainables/models/bert_attention.py); the others keep their own attention implementation.
"""

from dataclasses import dataclass

from errors import ConfigError

# The four shape knobs of a NAS space, in order (search/experiments/spaces/nas.py).
SHAPE_KNOBS = ("layers", "heads", "hidden", "intermediate")


@dataclass(frozen=True)
class Family:
    """One encoder family: its `model_type`, its shape field names, and whether our attention applies."""

    model_type: str
    layers: str
    heads: str
    hidden: str
    intermediate: str
    fast_attention: bool = False

    @property
    def shape_fields(self) -> tuple[str, str, str, str]:
        """The family's names of SHAPE_KNOBS, in that order."""
        return (self.layers, self.heads, self.hidden, self.intermediate)


FAMILIES: dict[str, Family] = {
    "bert": Family(
        "bert", "num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size", True
    ),
    "distilbert": Family("distilbert", "n_layers", "n_heads", "dim", "hidden_dim"),
    "roberta": Family(
        "roberta", "num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size"
    ),
    "albert": Family(
        "albert", "num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size"
    ),
}
BERT = FAMILIES["bert"]


def family_of(model_type: str) -> Family | None:
    """The family of a config's `model_type`, or None when it is not one we search."""
    return FAMILIES.get(model_type)


def searchable_family(model_type: str, experiment: str) -> Family:
    """The family of `model_type` for an architecture search; ConfigError naming the ones we can search."""
    family = family_of(model_type)
    if family is None:
        raise ConfigError(
            f"{experiment} cannot search a {model_type!r} model's architecture; it searches the "
            f"{', '.join(FAMILIES)} families (give --model one of those, or run base, lab1-* or lab3-*)"
        )
    return family


def uses_fast_attention(model_type: str) -> bool:
    """True where our CPU training attention applies (BERT); other models keep their own."""
    family = family_of(model_type)
    return family is not None and family.fast_attention
