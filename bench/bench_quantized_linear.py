"""Cost of fake quantization: every quantized Linear format against fp32, side by side in one run.

Two measurements, each the median of interleaved repeats (every repeat runs all variants in
turn, so load changes on the machine hit them alike):

- layer: forward + backward of one Linear 128 -> 512 on a (32, 64, 128) input (bert-tiny's
  intermediate dense at the trials' batch 32 x 64 tokens), in train mode.
- model: one AdamW train step of the trials' own bert-tiny (the quick profile's vocabulary and a
  real length-grouped batch of 32 rows of up to 64 tokens) with every Linear in the format,
  against the same model in fp32. (A 30k vocabulary and full 128-token rows hide the
  quantizers' cost behind the embedding update and larger matmuls.)

Formats use `example_config` (about 8 bits). Targets: integer and minifloat model step < 2x
fp32, every format < 4x. Prints a table and writes bench/out/quantized_linear.json.

    .venv/bin/python bench/bench_quantized_linear.py [--repeats N] [--threads T] [--formats a,b]
        [--device cuda]
"""

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from search.options import RunOptions
from trainables.compress import LINEAR_FORMATS, example_config, quantize_model
from trainables.data import iterate_batches
from trainables.models.classifier import build_model
from trainables.trial_steps import open_data

BATCH, TOKENS, HIDDEN, INTERMEDIATE = 32, 64, 128, 512  # the quick profile's batch and max length
TIGHT_TARGET, TARGET = 2.0, 4.0
TIGHT_FORMATS = ("integer", "minifloat_denorm", "minifloat_ieee")


def interleaved_medians(
    steps: dict[str, Callable[[], None]], repeats: int, warmup: int, device: torch.device
) -> dict[str, float]:
    """Median seconds of each step; each repeat runs every step once, in turn."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            sync()
            start = time.perf_counter()
            step()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def layer_steps(formats: list[str], device: torch.device) -> dict[str, Callable[[], None]]:
    torch.manual_seed(0)
    base = nn.Linear(HIDDEN, INTERMEDIATE, device=device)
    x = torch.randn(BATCH, TOKENS, HIDDEN, device=device, requires_grad=True)
    grad = torch.randn(BATCH, TOKENS, INTERMEDIATE, device=device)
    layers = {"fp32": base}
    layers.update(
        {name: LINEAR_FORMATS[name].from_linear(base, example_config(name), "bench") for name in formats}
    )

    def step_of(layer: nn.Module) -> Callable[[], None]:
        def step() -> None:
            layer(x).backward(grad)
            layer.zero_grad(set_to_none=True)
            x.grad = None

        return step

    return {name: step_of(layer) for name, layer in layers.items()}


def model_steps(formats: list[str], device: torch.device) -> dict[str, Callable[[], None]]:
    options = RunOptions(profile_name="quick")
    data = open_data({"data": options.data_settings(), "train": options.train_settings(), "seed": 0})
    base = build_model(data.prepared.vocab_size, 2, seed=0).to(device)
    real = next(iterate_batches(data.train, BATCH, shuffle=True, seed=0))
    batch = {"input_ids": real.input_ids, "attention_mask": real.attention_mask, "labels": real.labels}
    batch = {key: value.to(device) for key, value in batch.items()}
    models = {"fp32": base}
    for name in formats:
        config = {"by": "type", "linear": {"config": example_config(name)}}
        models[name] = quantize_model(copy.deepcopy(base), config)

    def step_of(model: nn.Module) -> Callable[[], None]:
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

        def step() -> None:
            loss = model(**batch).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        return step

    return {name: step_of(model) for name, model in models.items()}


def verdict(name: str, ratio: float) -> str:
    target = TIGHT_TARGET if name in TIGHT_FORMATS else TARGET
    return f"{'ok' if ratio < target else 'MISS'} (<{target:g}x)"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per variant (median)")
    parser.add_argument("--layer-repeats", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadiest on a shared box)")
    parser.add_argument("--formats", default=",".join(LINEAR_FORMATS), help="comma-separated format names")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    formats = [name for name in args.formats.split(",") if name]
    unknown = set(formats) - set(LINEAR_FORMATS)
    if unknown:
        parser.error(f"unknown formats {sorted(unknown)}; choose from {sorted(LINEAR_FORMATS)}")

    layer = interleaved_medians(layer_steps(formats, device), args.layer_repeats, 3, device)
    model = interleaved_medians(model_steps(formats, device), args.repeats, 2, device)

    rows = {}
    print(
        f"device={device} threads={args.threads}  layer: Linear {HIDDEN}->{INTERMEDIATE} fwd+bwd on "
        f"({BATCH}, {TOKENS}, {HIDDEN})  model: bert-tiny train step, batch {BATCH} x {TOKENS}"
    )
    print(f"{'format':22s} {'layer ms':>9s} {'ratio':>6s} {'model ms':>9s} {'ratio':>6s}  target")
    for name in ["fp32", *formats]:
        layer_ratio, model_ratio = layer[name] / layer["fp32"], model[name] / model["fp32"]
        rows[name] = {
            "layer_ms": 1e3 * layer[name],
            "layer_ratio": layer_ratio,
            "model_step_ms": 1e3 * model[name],
            "model_ratio": model_ratio,
        }
        check = "" if name == "fp32" else verdict(name, model_ratio)
        print(
            f"{name:22s} {1e3 * layer[name]:9.2f} {layer_ratio:6.2f} "
            f"{1e3 * model[name]:9.1f} {model_ratio:6.2f}  {check}"
        )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    result = {
        "formats": rows,
        "configs": {name: example_config(name) for name in formats},
        "targets": {"tight": TIGHT_TARGET, "tight_formats": TIGHT_FORMATS, "all": TARGET},
        "repeats": args.repeats,
        "layer_repeats": args.layer_repeats,
        "threads": args.threads,
        "device": str(device),
        "torch": torch.__version__,
    }
    (out / "quantized_linear.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
