"""Cost of activation pruning against the Linear it feeds, side by side in one run.

For bert-tiny's two Linear input widths (128 and 512) at the quick profile's batch (32 x 64
tokens) and the full profile's (8 x 512), times, in train-mode forward only:

- matmul: `F.linear` alone (the layer's own work);
- quantile-kthvalue: our `l1-norm` (MASE's whole-tensor quantile threshold via one kthvalue);
- torch-quantile: the same mask computed as MASE does (`torch.quantile` sorts the tensor);
- per-token-topk: `l1-norm-per-token` (top-k along every row, then a scatter).

Each number is the median (and min) of interleaved repeats, so machine load hits all alike.
Prints a table and writes bench/out/activation_pruning.json.

    .venv/bin/python bench/bench_activation_pruning.py [--repeats N] [--threads T]
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from trainables.compress.prune import InputPruning

SHAPES = {"quick": (32, 64), "full": (8, 512)}
WIDTHS = (128, 512)


def measure(profile: str, batch: int, tokens: int, width: int, repeats: int) -> dict:
    """One table row: median and min milliseconds of every step on a (batch, tokens, width) input."""
    x = torch.randn(batch, tokens, width)
    weight, bias = torch.randn(512, width), torch.randn(512)
    kth, topk = InputPruning(0.5, "l1-norm"), InputPruning(0.5, "l1-norm-per-token")
    steps = {
        "matmul": lambda: F.linear(x, weight, bias),
        "quantile-kthvalue": lambda: kth(None, (x,)),
        "torch-quantile": lambda: x.masked_fill(x.abs() <= torch.quantile(x.abs().flatten(), 0.5), 0),
        "per-token-topk": lambda: topk(None, (x,)),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(2):
        for step in steps.values():
            step()
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    row: dict = {"profile": profile, "shape": [batch, tokens, width]}
    for name, values in times.items():
        row[f"{name}_ms"] = 1000 * medians[name]
        row[f"{name}_min_ms"] = 1000 * min(values)
        row[f"{name}_x_matmul"] = medians[name] / medians["matmul"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [
        measure(profile, batch, tokens, width, args.repeats)
        for profile, (batch, tokens) in SHAPES.items()
        for width in WIDTHS
    ]
    names = ["matmul", "quantile-kthvalue", "torch-quantile", "per-token-topk"]
    print(f"{'profile':8} {'input':>14} " + " ".join(f"{name:>22}" for name in names))
    for row in rows:
        cells = " ".join(f"{row[f'{n}_ms']:8.2f} ms ({row[f'{n}_x_matmul']:4.1f}x)".rjust(22) for n in names)
        print(f"{row['profile']:8} {'x'.join(map(str, row['shape'])):>14} {cells}")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "activation_pruning.json").write_text(
        json.dumps({"threads": args.threads, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
