"""Cost of one training step in a real trial: fake-quant (width 8) against fp32, and useful FLOP/s.

Builds the trials' own model (the seeded bert-tiny shape with the profile's vocabulary) and takes
real batches of the profile's data (length-grouped, dynamically padded, batch 32, up to 64 tokens
on quick), exactly as `train()` does. Each repeat runs the same batches through every variant in
turn, the order alternating between repeats, so load changes on a shared machine hit all alike.

- qat ratio: a width-8, frac-4 integer QAT step (every Linear fake-quantized) over the fp32 step.
  Target <= 1.10x. Same values, older code paths, for before/after pairs: "qat int8 (before)" is
  the quantizer formula used before issue 15 (computed out of place and recorded by autograd);
  "qat int8 (per-tensor)" the in-place `no_grad` quantizer with one straight-through node per
  tensor that came next (before the one-node layer of trainables/compress/layers/fused_fake_quant.py).
- useful FLOP/s of the fp32 step: 6 x non-embedding parameters x real (unpadded) tokens per second,
  over the one-thread peak of a 1024^3 fp32 matmul measured in the same run. Target >= 65%.
  "fp32 (before)" is the same model and step on HF's SDPA attention with torch's clip_grad_norm_
  (the step before trainables/models/bert_attention.py and train_loop.clip_gradients; same values).

Times are this thread's CPU seconds (`time.thread_time`), not wall time: on a shared machine wall
time mostly measures waiting for a core. Prints a table and writes bench/out/train_step.json.

    PYTHONPATH=. .venv/bin/python bench/bench_train_step.py [--profile quick] [--repeats 5]
        [--batches 24] [--compile]
"""

import argparse
import copy
import functools
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from search.options import RunOptions
from trainables.compress import QuantizedLinear, fixed_point_config, quantize_model
from trainables.compress.ste import straight_through
from trainables.data import iterate_batches
from trainables.data.batching import Batch
from trainables.models.recipe import ModelRecipe, build_from_recipe
from trainables.train_loop import model_mask, train_step
from trainables.trial_steps import open_data

QAT_TARGET, FLOPS_TARGET = 1.10, 0.65


def matmul_peak(size: int = 1024, repeats: int = 5) -> float:
    """FLOP/s of the best of `repeats` fp32 size^3 matmuls on this thread."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best


def _timed(fn: Callable[[], object]) -> float:
    """CPU seconds of this thread (torch runs one-thread ops in the calling thread).

    On a machine shared with other work, wall time mostly measures waiting for a core; the
    thread's CPU time measures the work (caches shared with other processes still cost some).
    """
    start = time.thread_time()
    fn()
    return time.thread_time() - start


def out_of_place_fixed_point(x: torch.Tensor, width: int, frac_width: int) -> torch.Tensor:
    """The fixed-point quantizer as it was before issue 15 (same values): four autograd-recorded ops."""
    scale, limit = 2.0**frac_width, 2 ** (width - 1)
    return straight_through(x, torch.clamp(torch.round(x * scale), -limit, limit - 1) / scale)


def per_tensor_fixed_point(x: torch.Tensor, width: int, frac_width: int) -> torch.Tensor:
    """The in-place `no_grad` quantizer with its own straight-through node (same values)."""
    scale, limit = 2.0**frac_width, 2 ** (width - 1)
    with torch.no_grad():
        q = torch.mul(x, scale).round_().clamp_(-limit, limit - 1).div_(scale)
    return straight_through(x, q)


def with_quantizer(model: nn.Module, quantizer: Callable[..., torch.Tensor]) -> nn.Module:
    """`model` with every integer quantizer swapped for `quantizer` (an earlier formula, same values).

    An unmarked function is not `pure_quantizer`, so the layers take their per-tensor path.
    """
    for layer in model.modules():
        if isinstance(layer, QuantizedLinear):
            layer.quantizers = {
                name: functools.partial(quantizer, **quantize.keywords)
                for name, quantize in layer.quantizers.items()
            }
    return model


def with_sdpa(model: nn.Module) -> nn.Module:
    """`model` on HF's own SDPA attention (trainables/models/bert_attention.py's training path off)."""
    model.set_attn_implementation("sdpa")
    return model


def step_before(
    model: nn.Module, batch: Batch, optimizer: torch.optim.Optimizer, params: list, grad_clip: float
) -> torch.Tensor:
    """`train_step` as it was before issue 15's step work: torch's clip_grad_norm_ (same values)."""
    logits = model(input_ids=batch.input_ids, attention_mask=model_mask(batch)).logits
    loss = nn.functional.cross_entropy(logits.float(), batch.labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()
    return loss.detach()


def non_embedding_parameters(model: nn.Module) -> int:
    return sum(p.numel() for name, p in model.named_parameters() if "embeddings" not in name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over the batches per variant")
    parser.add_argument("--batches", type=int, default=24, help="real batches per pass")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd variants")
    args = parser.parse_args()
    torch.set_num_threads(1)
    options = RunOptions(profile_name=args.profile)
    config = {"data": options.data_settings(), "train": options.train_settings(), "seed": 0}
    data = open_data(config)
    profile = options.profile
    batches = []
    for batch in iterate_batches(data.train, profile.batch_size, shuffle=True, seed=0):
        batches.append(batch)
        if len(batches) == args.batches:
            break
    tokens = sum(int(b.attention_mask.sum()) for b in batches)

    recipe = ModelRecipe(vocab_size=data.prepared.vocab_size, num_labels=data.prepared.num_labels, seed=0)
    fp32 = build_from_recipe(recipe)
    variants: dict[str, nn.Module] = {
        "fp32": fp32,
        "fp32 (before)": with_sdpa(copy.deepcopy(fp32)),
        "qat int8": quantize_model(copy.deepcopy(fp32), fixed_point_config(8, 4)),
        "qat int8 (per-tensor)": with_quantizer(
            quantize_model(copy.deepcopy(fp32), fixed_point_config(8, 4)), per_tensor_fixed_point
        ),
        "qat int8 (before)": with_quantizer(
            quantize_model(copy.deepcopy(fp32), fixed_point_config(8, 4)), out_of_place_fixed_point
        ),
    }
    if args.compile:
        variants["fp32 compiled"] = torch.compile(copy.deepcopy(fp32))
        variants["qat int8 compiled"] = torch.compile(
            quantize_model(copy.deepcopy(fp32), fixed_point_config(8, 4))
        )

    def pass_of(model: nn.Module, step: Callable[..., torch.Tensor]) -> Callable[[], None]:
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=profile.lr, fused=True)

        def run() -> None:
            for batch in batches:
                step(model, batch, optimizer, params, 1.0)

        return run

    passes = {
        name: pass_of(model, step_before if name == "fp32 (before)" else train_step)
        for name, model in variants.items()
    }
    for run in passes.values():  # warm-up (and compilation)
        run()
    times: dict[str, list[float]] = {name: [] for name in passes}
    peaks = []
    for repeat in range(args.repeats):
        order = list(passes) if repeat % 2 == 0 else list(reversed(passes))
        peaks.append(matmul_peak())
        for name in order:
            times[name].append(_timed(passes[name]) / len(batches))
    peak = max(peaks)
    step = {name: statistics.median(values) for name, values in times.items()}
    flops = 6 * non_embedding_parameters(fp32) * tokens / len(batches)
    rows = {}
    print(
        f"profile={args.profile} vocab={data.prepared.vocab_size} batch={profile.batch_size} "
        f"tokens/batch={tokens / len(batches):.0f} (max {profile.max_length}) threads=1 "
        f"repeats={args.repeats} x {len(batches)} batches; 1024^3 matmul peak {peak / 1e9:.1f} GFLOP/s"
    )
    print(
        f"{'variant':21s} {'median cpu ms':>14s} {'min cpu ms':>11s} {'x fp32':>7s} {'useful GFLOP/s':>15s} {'% peak':>7s}"
    )
    for name, values in times.items():
        ratio = step[name] / step["fp32"]
        useful = flops / step[name]
        rows[name] = {
            "step_ms_median": 1e3 * step[name],
            "step_ms_min": 1e3 * min(values),
            "ratio_to_fp32": ratio,
            "useful_gflops": useful / 1e9,
            "fraction_of_peak": useful / peak,
        }
        print(
            f"{name:21s} {1e3 * step[name]:14.1f} {1e3 * min(values):11.1f} {ratio:7.2f} "
            f"{useful / 1e9:15.2f} {100 * useful / peak:6.1f}%"
        )
    qat, fp = rows["qat int8"]["ratio_to_fp32"], rows["fp32"]["fraction_of_peak"]
    print(f"qat int8 / fp32 = {qat:.2f}x (target <= {QAT_TARGET}x: {'ok' if qat <= QAT_TARGET else 'MISS'})")
    print(
        f"fp32 useful FLOP/s = {100 * fp:.0f}% of peak (target >= {100 * FLOPS_TARGET:.0f}%: {'ok' if fp >= FLOPS_TARGET else 'MISS'})"
    )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    result = {
        "variants": rows,
        "matmul_peak_gflops": peak / 1e9,
        "tokens_per_batch": tokens / len(batches),
        "non_embedding_parameters": non_embedding_parameters(fp32),
        "profile": args.profile,
        "batches": len(batches),
        "repeats": args.repeats,
        "torch": torch.__version__,
    }
    (out / "train_step.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
