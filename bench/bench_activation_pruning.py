"""Cost of activation pruning against the Linear it feeds, side by side in one run.

For bert-tiny's two Linear input widths (128 and 512) at the quick profile's training batch
(32 x 64 tokens), its evaluation batch (128 x 64) and the full profile's batch (8 x 512), times,
in train-mode forward only:

- matmul: `F.linear` alone (the layer's own work);
- l1-norm: our `l1-norm` hook as it is (MASE's whole-tensor quantile threshold; on the CPU the
  k-th smallest |x| by numpy's selection on the bit patterns, then a multiply);
- kthvalue-before: the same mask as before that change (torch's `kthvalue`, then `masked_fill`);
- torch-quantile: the same mask computed as MASE does (`torch.quantile` sorts the tensor);
- per-token: our `l1-norm-per-token` hook (on the CPU numpy's selection per row on unique
  integer keys, |x|'s bits above the column index);
- per-token-topk-before: the same mask as before that change (`topk` along every row, a scatter,
  `masked_fill`);
- random: our `random` hook (the same selection on random keys);
- random-topk-before: `random` as before (`torch.rand`, `topk`, scatter, `masked_fill`).

`speedup` is kthvalue-before's median over l1-norm's, `per-token x` and `random x` the two
other befores' over ours, and `same` says whether l1-norm gave the same output bits as before
on that input (per-token and random are checked in tests/compress_tests/test_prune.py: exact
count per vector, the kept entries the largest, every column dropped equally often).

Each number is the median (and min) of interleaved repeats, so machine load hits all alike.
Prints a table and writes bench/out/activation_pruning.json.

    .venv/bin/python bench/bench_activation_pruning.py [--repeats N] [--threads T] [--sparsity S]
"""

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from trainables.compress.prune import InputPruning

SHAPES = {"quick": (32, 64), "quick-eval": (128, 64), "full": (8, 512)}
NAMES = [
    "matmul",
    "l1-norm",
    "kthvalue-before",
    "torch-quantile",
    "per-token",
    "per-token-topk-before",
    "random",
    "random-topk-before",
]


def kthvalue_before(x: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Activation l1-norm pruning as computed before the numpy selection: kthvalue, masked_fill."""
    scores = x.detach().abs()
    k = math.floor(sparsity * (scores.numel() - 1)) + 1
    return x.masked_fill(scores <= scores.reshape(-1).kthvalue(k).values, 0)


def topk_before(x: torch.Tensor, sparsity: float, random: bool) -> torch.Tensor:
    """`l1-norm-per-token` / `random` activation pruning as computed before: topk per row, scatter, masked_fill."""
    count = round(sparsity * x.shape[-1])
    scores = torch.rand(x.shape) if random else x.detach().abs()
    drop = torch.zeros(x.shape, dtype=torch.bool)
    drop.scatter_(-1, scores.topk(count, dim=-1, largest=False).indices, True)
    return x.masked_fill(drop, 0)


WIDTHS = (128, 512)


def measure(profile: str, batch: int, tokens: int, width: int, repeats: int, sparsity: float) -> dict:
    """One table row: median and min milliseconds of every step on a (batch, tokens, width) input."""
    x = torch.randn(batch, tokens, width, requires_grad=True)
    weight, bias = torch.randn(512, width), torch.randn(512)
    l1, per_token = InputPruning(sparsity, "l1-norm"), InputPruning(sparsity, "l1-norm-per-token")
    random = InputPruning(sparsity, "random")
    # torch.quantile refuses inputs above 16M entries; the full profile's 512-wide input is 2M.
    steps = {
        "matmul": lambda: F.linear(x, weight, bias),
        "l1-norm": lambda: l1(None, (x,)),
        "kthvalue-before": lambda: kthvalue_before(x, sparsity),
        "torch-quantile": lambda: x.masked_fill(x.abs() <= torch.quantile(x.abs().flatten(), sparsity), 0),
        "per-token": lambda: per_token(None, (x,)),
        "per-token-topk-before": lambda: topk_before(x, sparsity, random=False),
        "random": lambda: random(None, (x,)),
        "random-topk-before": lambda: topk_before(x, sparsity, random=True),
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
    row: dict = {"profile": profile, "shape": [batch, tokens, width], "sparsity": sparsity}
    for name, values in times.items():
        row[f"{name}_ms"] = 1000 * medians[name]
        row[f"{name}_min_ms"] = 1000 * min(values)
        row[f"{name}_x_matmul"] = medians[name] / medians["matmul"]
    row["speedup"] = medians["kthvalue-before"] / medians["l1-norm"]
    row["per_token_speedup"] = medians["per-token-topk-before"] / medians["per-token"]
    row["random_speedup"] = medians["random-topk-before"] / medians["random"]
    with torch.no_grad():
        now, before = l1(None, (x,))[0], kthvalue_before(x, sparsity)
    row["same"] = bool(torch.equal(now.view(torch.int32), before.view(torch.int32)))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sparsity", type=float, default=0.5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [
        measure(profile, batch, tokens, width, args.repeats, args.sparsity)
        for profile, (batch, tokens) in SHAPES.items()
        for width in WIDTHS
    ]
    header = f"{'profile':10} {'input':>14} " + " ".join(f"{name:>22}" for name in NAMES)
    print(header + "  speedup per-token x random x same")
    for row in rows:
        cells = " ".join(f"{row[f'{n}_ms']:8.2f} ms ({row[f'{n}_x_matmul']:4.1f}x)".rjust(22) for n in NAMES)
        shape = "x".join(map(str, row["shape"]))
        print(
            f"{row['profile']:10} {shape:>14} {cells}  {row['speedup']:6.1f}x {row['per_token_speedup']:10.1f}x "
            f"{row['random_speedup']:7.1f}x {row['same']}"
        )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "activation_pruning.json").write_text(
        json.dumps({"threads": args.threads, "sparsity": args.sparsity, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
