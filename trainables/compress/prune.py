"""prune_model: MASE-style unstructured pruning of the weights and inputs of every nn.Linear.

Config (MASE's keys; either entry may be left out):

    {"weight": {"sparsity": 0.5, "method": "l1-norm", "scope": "local"},
     "activation": {"sparsity": 0.5, "method": "l1-norm", "scope": "local"}}

What a pruned Linear carries (all of it survives `copy.deepcopy`, `state_dict` /
`load_state_dict`, `.to(device)` and a later `quantize_model`, whose `from_linear` copies
forward pre-hooks and buffers):

- `weight_mask`: bool buffer shaped like the weight, True = kept. The pruned weights are zeroed
  in place; a gradient hook zeroes their gradients, so Adam/AdamW/SGD (weight decay and
  momentum included) leave them at exactly zero after `optimizer.step()`; a forward pre-hook
  zeroes them again before every forward, which also undoes anything that wrote into the
  weight behind the mask's back (an optimizer state carried over from before pruning, a
  checkpoint without zeros).
- `input_mask` (only for `random_fixed` activation pruning): bool buffer of shape
  (in_features,), True = kept.
- an `InputPruning` forward pre-hook for activation pruning.

Saving a pruned model adds `<layer>.weight_mask` / `<layer>.input_mask` keys to its state dict.
To load such a checkpoint into a fresh model, either call `prune_model` with the same config
first (the loaded masks then replace the computed ones), or call
`attach_pruning_hooks(model, state_dict)` before `load_state_dict`; activation pruning with
`l1-norm` / `random` holds no state, so only `prune_model` restores it.
"""

import math
import numbers
import weakref
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from errors import ConfigError

WEIGHT_METHODS = ("random", "l1-norm")
ACTIVATION_METHODS = ("random", "l1-norm", "l1-norm-per-token", "random_fixed")
SCOPES = ("local", "global")
GRANULARITIES = ("elementwise",)
ENTRY_KEYS = ("sparsity", "method", "scope", "granularity")
TARGETS = ("weight", "activation")


@dataclass(frozen=True)
class PruneSpec:
    """One validated entry of a pruning config."""

    sparsity: float
    method: str
    scope: str


def check_prune_config(config: Mapping[str, Any]) -> dict[str, PruneSpec]:
    """Validate a MASE pruning config; return {"weight"|"activation": PruneSpec} for the entries given.

    Raises ConfigError naming the key, the value and what is allowed. `sparsity` and `method`
    are required (MASE defaults the method to `random`, which silently ruins accuracy);
    `scope` defaults to `local`, `granularity` to `elementwise` (the only one supported).
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"pruning config must be a dict, got {type(config).__name__}")
    unknown = sorted(set(config) - set(TARGETS), key=str)
    if unknown:
        raise ConfigError(f"pruning config: unknown key(s) {unknown}; allowed keys are {list(TARGETS)}")
    specs = {}
    for target in TARGETS:
        entry = config.get(target)
        if entry is not None:
            specs[target] = _check_entry(target, entry)
    return specs


def _check_entry(target: str, entry: Any) -> PruneSpec:
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"pruning config: {target} must be a dict like {{'sparsity': 0.5, 'method': 'l1-norm'}}, "
            f"got {entry!r}"
        )
    unknown = sorted(set(entry) - set(ENTRY_KEYS), key=str)
    if unknown:
        raise ConfigError(
            f"pruning config: {target} has unknown key(s) {unknown}; allowed keys are {list(ENTRY_KEYS)}"
        )
    if "sparsity" not in entry:
        raise ConfigError(f"pruning config: {target}.sparsity is missing (a number in [0, 1))")
    sparsity = entry["sparsity"]
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real) or not math.isfinite(sparsity):
        raise ConfigError(f"pruning config: {target}.sparsity={sparsity!r} is not a number in [0, 1)")
    if not 0 <= sparsity < 1:
        raise ConfigError(f"pruning config: {target}.sparsity={sparsity!r} is out of range, allowed [0, 1)")
    methods = WEIGHT_METHODS if target == "weight" else ACTIVATION_METHODS
    method = entry.get("method")
    if method not in methods:
        raise ConfigError(
            f"pruning config: {target}.method={method!r} is not allowed; choose one of {list(methods)}"
        )
    scope = entry.get("scope", "local")
    if scope not in SCOPES:
        raise ConfigError(
            f"pruning config: {target}.scope={scope!r} is not allowed; choose one of {list(SCOPES)}"
        )
    if target == "activation" and scope == "global" and method == "l1-norm":
        # MASE's global activation threshold comes from activations profiled over all layers
        # beforehand; we profile nothing, so a silent stand-in would mean something else.
        raise ConfigError(
            "pruning config: activation.scope='global' with method='l1-norm' needs profiled activations, "
            "which adls-tune does not collect; allowed scope for activation l1-norm is ['local']"
        )
    granularity = entry.get("granularity", "elementwise")
    if granularity not in GRANULARITIES:
        raise ConfigError(
            f"pruning config: {target}.granularity={granularity!r} is not allowed; "
            f"choose one of {list(GRANULARITIES)}"
        )
    return PruneSpec(float(sparsity), method, scope)


def prune_model(
    model: nn.Module,
    config: Mapping[str, Any],
    seed: int = 0,
    layers: Collection[str] | None = None,
) -> nn.Module:
    """Prune the weights and/or inputs of every nn.Linear (quantized ones too) in place; return the model.

    `layers` restricts pruning to those module names. The whole config (and `layers`) is
    validated before anything changes. Sparsity 0 leaves that part untouched.

    Weights (a fixed mask, computed once from the current weights):
      - `local`: exactly round(sparsity * numel) weights of each tensor are zeroed.
      - `global`: exactly round(sparsity * total) weights over all pruned tensors together;
        layers end up with different sparsities.
      - `l1-norm` zeroes the smallest |w| (raw fp weight, before any quantizer); `random` draws
        the mask from a torch.Generator seeded from `seed` (and, for local scope, the layer
        name, so a layer's mask does not depend on which other layers are pruned).
      - Pruning an already pruned model recomputes the masks from the current weights (zeros
        rank lowest under l1-norm) and replaces the old ones.
    Activations (the Linear's input, on every forward, in training and evaluation):
      - `l1-norm` (MASE's, Tutorial 4): one threshold for the whole input tensor of the call,
        MASE's `torch.quantile(|x|, sparsity)`, and every entry with |x| <= threshold is
        zeroed. It is found with one selection of the k-th smallest |x| (cheaper than a sort;
        numpy's on the CPU, `kthvalue` elsewhere): the quantile interpolates between the k-th
        and (k+1)-th smallest |x| with k = floor(sparsity * (numel - 1)) + 1, so
        "|x| > quantile" keeps exactly the entries above the k-th smallest. Ties: every entry equal to the threshold is zeroed too (MASE's
        `>`), so exact zeros or repeated values can push the zeroed share above `sparsity`.
        Tokens with small activations lose more than others, and the threshold depends on
        what else is in the batch (batch size, padding length), as in MASE.
      - `l1-norm-per-token`: zeroes exactly round(sparsity * in_features) smallest-|x| entries
        of each input vector (each row along the last dimension, i.e. per token for BERT), so
        the result depends on neither batch size nor padding length (evaluation gives the same
        numbers at any batch size), at the cost of a top-k per row.
      - `random`: a fresh random mask on every call (same count per vector as
        l1-norm-per-token), drawn from the global RNG like dropout but without rescaling. Because the
        mask changes between calls, even in evaluation, training cannot adapt to it: this is
        why random activation pruning collapses accuracy in the labs.
      - `random_fixed`: one mask over the feature dimension per layer, drawn once from `seed`
        and the layer name, exactly round(sparsity * in_features) features dropped.
    """
    specs = check_prune_config(config)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**63:
        raise ConfigError(f"pruning seed={seed!r} is not allowed; give a whole number in [0, 2**63)")
    linears = _select_linears(model, layers)
    weight_spec, activation_spec = specs.get("weight"), specs.get("activation")
    if weight_spec is not None and weight_spec.sparsity > 0 and linears:
        masks = _weight_masks(linears, weight_spec, int(seed))
        for name, module in linears.items():
            _install_weight_mask(module, masks[name])
    if activation_spec is not None and activation_spec.sparsity > 0:
        for name, module in linears.items():
            _install_input_pruning(module, name, activation_spec, int(seed))
    return model


def attach_pruning_hooks(model: nn.Module, state_dict: Mapping[str, torch.Tensor] | None = None) -> list[str]:
    """Make every Linear that has pruning masks enforce them; return the names of those layers.

    Hooks already in place are not duplicated, so this is safe to call at any time. With
    `state_dict`, first registers `weight_mask` / `input_mask` buffers for the mask keys it
    holds, so a fresh (unpruned) model can then `load_state_dict` a pruned checkpoint. Only
    state-holding pruning comes back this way: activation `l1-norm` / `random` must be
    re-applied with `prune_model`.
    """
    pruned = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        if state_dict is not None:
            for buffer in ("weight_mask", "input_mask"):
                key = f"{name}.{buffer}" if name else buffer
                if key in state_dict and buffer not in module._buffers:
                    value = state_dict[key]
                    module.register_buffer(
                        buffer, torch.ones(value.shape, dtype=torch.bool, device=module.weight.device)
                    )
        if isinstance(module._buffers.get("weight_mask"), torch.Tensor):
            _ensure_hook(module, WeightMaskHook, WeightMaskHook())
            _ensure_gradient_hook(module)
        if isinstance(module._buffers.get("input_mask"), torch.Tensor):
            if not any(isinstance(hook, InputPruning) for hook in module._forward_pre_hooks.values()):
                module.register_forward_pre_hook(
                    InputPruning(_mask_sparsity(module.input_mask), "random_fixed")
                )
        if "weight_mask" in module._buffers or _input_pruning(module) is not None:
            pruned.append(name)
    return pruned


class WeightMaskHook:
    """Forward pre-hook: zero the pruned weights before every forward and keep the gradient hook on.

    Writes through `.data`, which neither bumps the weight's version counter (so a
    QuantizedLinear keeps its cached quantized weight in evaluation, and two forwards before
    one backward do not trip autograd's in-place check) nor changes values that were already
    zero. Re-installs the gradient hook when the weight is a new Parameter (after deepcopy,
    `from_linear` or unpickling, none of which carry tensor hooks).
    """

    def __call__(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        _ensure_gradient_hook(module)
        module.weight.data.masked_fill_(~module.weight_mask, 0)
        return None

    def __repr__(self) -> str:
        return "WeightMaskHook()"


class MaskGradient:
    """Tensor hook on a pruned weight: zero the gradient of the pruned entries.

    Looks the mask up on the module at call time (weakly), so `.to(device)` and
    `load_state_dict`, which replace or overwrite the buffer, are followed.
    """

    def __init__(self, module: nn.Module) -> None:
        self.module_ref = weakref.ref(module)

    def __call__(self, grad: torch.Tensor) -> torch.Tensor:
        module = self.module_ref()
        if module is None:
            return grad
        return grad.masked_fill(~module.weight_mask, 0)


class InputPruning:
    """Forward pre-hook: zero part of a Linear's input on every call (see `prune_model` for methods)."""

    def __init__(self, sparsity: float, method: str) -> None:
        self.sparsity = sparsity
        self.method = method

    def __call__(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not args:
            raise RuntimeError(
                f"activation pruning needs the input of {type(module).__name__} passed positionally"
            )
        x, rest = args[0], args[1:]
        if self.method == "random_fixed":
            return (x.masked_fill(~module.input_mask, 0), *rest)
        if self.method == "l1-norm":
            return (_prune_below_quantile(x, self.sparsity), *rest)
        count = round(self.sparsity * x.shape[-1])
        if count == 0:
            return None
        return (x.masked_fill(_drop_per_vector(x, count, self.method), 0), *rest)

    def __repr__(self) -> str:
        return f"InputPruning(sparsity={self.sparsity}, method={self.method!r})"


def _drop_per_vector(x: torch.Tensor, count: int, method: str) -> torch.Tensor:
    """The mask of the `count` entries of each vector (last dim) that `random` or `l1-norm-per-token` drops.

    On the CPU each entry gets a distinct integer key, its score's bits above its column index, and
    numpy selects the count-th smallest key of each row: exactly `count` per row, no ties.
    `random` scores are random bits seeded from torch's global RNG (so `torch.manual_seed` fixes
    the mask; every subset of `count` columns equally likely); `l1-norm-per-token` scores are
    |x|'s bit patterns, which order as |x| does. On other devices, and for float64 per-token
    (whose bits leave no room for the index), `topk` as before (docs/performance.md 9.2).
    """
    features = x.shape[-1]
    index_bits = max(1, (features - 1).bit_length())
    per_token = method == "l1-norm-per-token"
    fits = (
        x.dtype.itemsize in (2, 4) and x.dtype.is_floating_point and index_bits <= 62 - 8 * x.dtype.itemsize
    )
    if x.device.type != "cpu" or (per_token and not fits) or index_bits > 31:
        scores = x.detach().abs() if per_token else torch.rand(x.shape, device=x.device)
        drop = torch.zeros(x.shape, dtype=torch.bool, device=x.device)
        drop.scatter_(-1, scores.topk(count, dim=-1, largest=False).indices, True)
        return drop
    if per_token:
        torch_signed = _UNSIGNED_VIEWS[x.dtype.itemsize][0]
        # |x| is non-negative, so its sign bit is 0 and its signed view is its unsigned one.
        keys = x.detach().abs().view(torch_signed).to(torch.int64).numpy().reshape(-1, features)
        keys <<= index_bits
    else:
        # torch's int64 randint is slow; numpy's generator makes the bits, seeded from torch's
        # global RNG so that torch.manual_seed still fixes every mask.
        seed = int(torch.randint(0, 2**62, ()).item())
        bits = np.random.Generator(np.random.PCG64(seed)).bit_generator
        # 32-bit keys where they leave >= 19 random bits (4x faster to make and select than 64):
        # two keys holding the same random bits, 1 in 2**19 pairs, rank by column index instead.
        wide = index_bits > 12
        raw = bits.random_raw(x.numel() if wide else (x.numel() + 1) // 2)
        raw = raw if wide else raw.view(np.uint32)[: x.numel()]
        raw >>= index_bits + 1
        raw <<= index_bits
        keys = raw.view(np.int64 if wide else np.int32).reshape(-1, features)
    keys |= np.arange(features, dtype=keys.dtype)
    kth = np.partition(keys, count - 1, axis=-1)[:, count - 1 : count]
    return torch.from_numpy(keys <= kth).reshape(x.shape)


def _prune_below_quantile(x: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Zero every entry of `x` with |x| <= MASE's `torch.quantile(|x|, sparsity)` (see `prune_model`).

    The threshold is the k-th smallest |x|; on the CPU `_kth_smallest_magnitude` finds the same
    value as `kthvalue`, faster. Where the threshold is finite the zeroing is a multiply by the
    kept entries (plus 0.0, which turns the -0.0 of a zeroed negative entry into +0.0): the same
    bits as `masked_fill` and the same gradient values, at a third of its cost on the CPU.
    """
    if x.numel() == 0:
        return x
    scores = x.detach().abs()
    k = math.floor(sparsity * (scores.numel() - 1)) + 1
    if x.device.type != "cpu" or x.dtype.itemsize not in _UNSIGNED_VIEWS or not x.dtype.is_floating_point:
        return x.masked_fill(scores <= scores.reshape(-1).kthvalue(k).values, 0)
    threshold = _kth_smallest_magnitude(scores, k)
    drop = scores <= threshold
    if not bool(torch.isfinite(threshold)):
        # An infinite threshold zeroes infinities (inf * 0 is NaN); a NaN one zeroes nothing.
        return x.masked_fill(drop, 0)
    return (x * drop.logical_not_()).add_(0.0)


# Non-negative IEEE floats order as their bit patterns read as unsigned integers of the same
# width (NaN above inf), which numpy selects among much faster than torch's float kthvalue:
# {bytes per value: (torch's signed view, numpy's unsigned and signed types)}.
_UNSIGNED_VIEWS = {
    2: (torch.int16, np.uint16, np.int16),
    4: (torch.int32, np.uint32, np.int32),
    8: (torch.int64, np.uint64, np.int64),
}


def _kth_smallest_magnitude(scores: torch.Tensor, k: int) -> torch.Tensor:
    """`scores.reshape(-1).kthvalue(k).values` for non-negative CPU floats, as a 1-element tensor.

    Selects on the bit patterns (np.partition, on a copy), so NaNs rank above everything, as in
    kthvalue; the value returned is bit for bit the one kthvalue returns, up to a NaN's payload.
    """
    torch_signed, unsigned, signed = _UNSIGNED_VIEWS[scores.dtype.itemsize]
    bits = scores.reshape(-1).view(torch_signed).numpy().view(unsigned)
    kth = np.partition(bits, k - 1)[k - 1 : k]
    return torch.from_numpy(kth.view(signed)).view(scores.dtype)


def _select_linears(model: nn.Module, layers: Collection[str] | None) -> dict[str, nn.Linear]:
    linears = {name: module for name, module in model.named_modules() if isinstance(module, nn.Linear)}
    if layers is None:
        return linears
    if isinstance(layers, str):
        raise ConfigError(
            f"pruning layers={layers!r} must be a collection of Linear module names, not a string"
        )
    unknown = sorted(set(layers) - set(linears))
    if unknown:
        raise ConfigError(
            f"pruning layers {unknown} are not Linear modules of the model; Linear layers are "
            f"{sorted(linears)[:6]}{'...' if len(linears) > 6 else ''}"
        )
    chosen = set(layers)
    return {name: module for name, module in linears.items() if name in chosen}


def _generator(seed: int, name: str | None = None) -> torch.Generator:
    # Mixing in the layer name gives each layer its own stream that does not depend on the others.
    salt = 0 if name is None else zlib.crc32(name.encode())
    return torch.Generator().manual_seed((seed * 1_000_003 + salt) % 2**63)


def _keep_mask(numel: int, pruned: torch.Tensor, shape: torch.Size, device: torch.device) -> torch.Tensor:
    keep = torch.ones(numel, dtype=torch.bool, device=device)
    keep[pruned.to(device)] = False
    return keep.reshape(shape)


def _weight_masks(linears: dict[str, nn.Linear], spec: PruneSpec, seed: int) -> dict[str, torch.Tensor]:
    weights = {name: module.weight.detach() for name, module in linears.items()}
    if spec.scope == "local":
        masks = {}
        for name, weight in weights.items():
            count = round(spec.sparsity * weight.numel())
            if spec.method == "l1-norm":
                pruned = weight.abs().flatten().topk(count, largest=False).indices
            else:
                pruned = torch.randperm(weight.numel(), generator=_generator(seed, name))[:count]
            masks[name] = _keep_mask(weight.numel(), pruned, weight.shape, weight.device)
        return masks
    # Global: one ranking over all pruned weights, cut back into per-layer masks.
    total = sum(weight.numel() for weight in weights.values())
    count = round(spec.sparsity * total)
    if spec.method == "l1-norm":
        flat = torch.cat([weight.abs().flatten().float().cpu() for weight in weights.values()])
        pruned = flat.topk(count, largest=False).indices
    else:
        pruned = torch.randperm(total, generator=_generator(seed))[:count]
    keep = _keep_mask(total, pruned, torch.Size([total]), torch.device("cpu"))
    masks, start = {}, 0
    for name, weight in weights.items():
        masks[name] = keep[start : start + weight.numel()].reshape(weight.shape).to(weight.device)
        start += weight.numel()
    return masks


def _install_weight_mask(module: nn.Linear, keep: torch.Tensor) -> None:
    module.register_buffer("weight_mask", keep)
    with torch.no_grad():
        # A tracked in-place write: bumps the version, so a QuantizedLinear drops its cached weight.
        module.weight.masked_fill_(~keep, 0)
    _ensure_hook(module, WeightMaskHook, WeightMaskHook())
    _ensure_gradient_hook(module)


def _install_input_pruning(module: nn.Linear, name: str, spec: PruneSpec, seed: int) -> None:
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, InputPruning):
            del module._forward_pre_hooks[key]
    if spec.method == "random_fixed":
        count = round(spec.sparsity * module.in_features)
        pruned = torch.randperm(module.in_features, generator=_generator(seed, f"input:{name}"))[:count]
        keep = _keep_mask(module.in_features, pruned, torch.Size([module.in_features]), module.weight.device)
        module.register_buffer("input_mask", keep)
    elif "input_mask" in module._buffers:
        del module._buffers["input_mask"]
    module.register_forward_pre_hook(InputPruning(spec.sparsity, spec.method))


def _ensure_hook(module: nn.Module, kind: type, hook: Any) -> None:
    if not any(isinstance(existing, kind) for existing in module._forward_pre_hooks.values()):
        module.register_forward_pre_hook(hook)


def _ensure_gradient_hook(module: nn.Module) -> None:
    weight = module.weight
    if not weight.requires_grad:
        return  # frozen: no gradient to mask; the forward pre-hook installs it if unfrozen later
    # Tensor hooks live on the Parameter, and deepcopy/unpickling/from_linear make a new one
    # without them, so look for ours on the current Parameter rather than remembering a flag.
    hooks = weight._backward_hooks or {}
    if not any(isinstance(hook, MaskGradient) and hook.module_ref() is module for hook in hooks.values()):
        weight.register_hook(MaskGradient(module))


def _input_pruning(module: nn.Module) -> InputPruning | None:
    return next((hook for hook in module._forward_pre_hooks.values() if isinstance(hook, InputPruning)), None)


def _mask_sparsity(keep: torch.Tensor) -> float:
    return 1.0 - keep.count_nonzero().item() / max(keep.numel(), 1)
