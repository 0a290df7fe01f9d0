"""MASE's own pass arguments for a compressed model: `quantize_transform_pass` and `prune_transform_pass`.

Quantization is written `by: name`: MASE matches a layer by its torch.fx node name, which is the
module path with dots replaced by underscores (`bert_encoder_layer_0_attention_self_query`), so
the keys are those names. Every Linear gets an entry (`name: None` for an fp32 one) and a
`default` entry keeps anything else in fp32. TOML has no None: MASE's config loader reads the
string "NA" as None, so the TOML files write "NA" where the JSON files write null. Our
`mase_exact` key is left out (MASE always computes its own values).
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from errors import ConfigError
from trainables.compress.layers.quantized_linear import QuantizedLinear
from trainables.compress.mase_mode import MASE_EXACT_KEY

# prune_transform_pass's methods (MASE's pruning/load.py, checked against DeepWok/mase main).
MASE_WEIGHT_METHODS = ("random", "l1-norm")
MASE_ACTIVATION_METHODS = ("random", "l1-norm")
TOML_NONE = "NA"
QUANTIZE_STEM = "mase_quantize"
PRUNE_STEM = "mase_prune"


def fx_node_name(module_name: str) -> str:
    """The torch.fx node name MASE's `by: name` matches for a module path."""
    return module_name.replace(".", "_")


def mase_pass_args(model: nn.Module) -> dict[str, Any]:
    """`quantize_transform_pass`'s pass_args for `model`: by name, a default entry, one entry per Linear."""
    args: dict[str, Any] = {"by": "name", "default": {"config": {"name": None}}}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        if isinstance(module, QuantizedLinear):
            config = {key: value for key, value in module.config.items() if key != MASE_EXACT_KEY}
        else:
            config = {"name": None}
        args[fx_node_name(name)] = {"config": config}
    return args


def mase_prune_args(pruning: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`prune_transform_pass`'s pass_args for a recipe's pruning config (None when not pruned).

    MASE needs both entries; a missing one becomes sparsity 0.0. Raises ConfigError for a method
    MASE's pass does not have.
    """
    if not pruning:
        return None
    args = {}
    for target, methods in (("weight", MASE_WEIGHT_METHODS), ("activation", MASE_ACTIVATION_METHODS)):
        entry = pruning.get(target) or {"sparsity": 0.0, "method": "l1-norm"}
        if entry["method"] not in methods:
            raise ConfigError(
                f"MASE's prune_transform_pass has no {target} method {entry['method']!r} "
                f"(it has {list(methods)}); export this trial --to hf or --to onnx instead"
            )
        args[target] = {
            "sparsity": float(entry["sparsity"]),
            "method": entry["method"],
            "scope": entry.get("scope", "local"),
            "granularity": entry.get("granularity", "elementwise"),
        }
    return args


def write_mase(model: nn.Module, pruning: Mapping[str, Any] | None, folder: str | Path) -> list[Path]:
    """Write mase_quantize.{toml,json} (and mase_prune.{toml,json} when pruned) into `folder`; the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, args in ((QUANTIZE_STEM, mase_pass_args(model)), (PRUNE_STEM, mase_prune_args(pruning))):
        if args is None:
            continue
        (folder / f"{stem}.toml").write_text(to_toml(args))
        (folder / f"{stem}.json").write_text(json.dumps(args, indent=1) + "\n")
        written += [folder / f"{stem}.toml", folder / f"{stem}.json"]
    return written


def to_toml(data: Mapping[str, Any]) -> str:
    """TOML for nested dicts of str/int/float/bool/None/lists (None written as MASE's "NA")."""
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {key: value for key, value in data.items() if not isinstance(value, Mapping)}
    tables = {key: value for key, value in data.items() if isinstance(value, Mapping)}
    if path and scalars:
        lines += ["", "[" + ".".join(_key(part) for part in path) + "]"]
    lines += [f"{_key(key)} = {_toml_value(value)}" for key, value in scalars.items()]
    for key, value in tables.items():
        _table(value, [*path, key], lines)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml_value(value: Any) -> str:
    if value is None:
        return json.dumps(TOML_NONE)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise ConfigError(f"cannot write {value!r} ({type(value).__name__}) into a MASE TOML config")
