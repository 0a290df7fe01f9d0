"""Our training loop against Hugging Face Trainer at the course's settings, side by side in one run.

Same model (seeded bert-tiny), same tokenized Rotten Tomatoes data, batch 8, lr 5e-5, dynamic
padding, one epoch, same torch thread count. Prints a table and writes bench/out/train_loop.json.

    .venv/bin/python bench/bench_train_loop.py [--train-rows N] [--threads T]
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from trainables.data import DataSpec, load_splits, prepare_data
from trainables.model import build_model
from trainables.train_loop import TrainSettings, evaluate, train

BATCH, LR = 8, 5e-5


def hf_trainer_run(split_train, split_test, vocab_size: int, pad_id: int, seed: int, threads: int) -> dict:
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    def as_hf(split) -> Dataset:
        ids = [split.token_ids[split.offsets[i] : split.offsets[i + 1]].tolist() for i in range(len(split))]
        return Dataset.from_dict({"input_ids": ids, "labels": split.labels.tolist()})

    train_ds = as_hf(split_train)

    class Pad:  # DataCollatorWithPadding needs a tokenizer only for its pad method
        pad_token_id = pad_id

    def collate(rows):
        length = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r["input_ids"])] = torch.tensor(r["input_ids"])
            mask[i, : len(r["input_ids"])] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([r["labels"] for r in rows])}

    del DataCollatorWithPadding  # the tokenizer-free equivalent above pads exactly the same way
    model = build_model(vocab_size, 2, seed=seed)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=BATCH,
            per_device_eval_batch_size=128,
            learning_rate=LR,
            num_train_epochs=1,
            report_to=[],
            save_strategy="no",
            logging_strategy="no",
            seed=seed,
            use_cpu=True,
            dataloader_num_workers=0,
            disable_tqdm=True,
        )
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, data_collator=collate)
        torch.set_num_threads(threads)
        start = time.perf_counter()
        trainer.train()
        elapsed = time.perf_counter() - start
    acc = evaluate(model, split_test, torch.device("cpu"), 128, pad_id)["accuracy"]
    return {"samples_per_s": len(train_ds) / elapsed, "seconds": elapsed, "accuracy": acc}


def our_run(split_train, split_test, vocab_size: int, pad_id: int, seed: int, threads: int) -> dict:
    model = build_model(vocab_size, 2, seed=seed)
    torch.set_num_threads(threads)
    settings = TrainSettings(epochs=1, batch_size=BATCH, lr=LR, seed=seed, grad_clip=1.0)
    start = time.perf_counter()
    metrics = train(model, split_train, settings, torch.device("cpu"), pad_id)
    elapsed = time.perf_counter() - start
    acc = evaluate(model, split_test, torch.device("cpu"), 128, pad_id)["accuracy"]
    return {
        "samples_per_s": len(split_train) / elapsed,
        "seconds": elapsed,
        "accuracy": acc,
        "loop_samples_per_s": metrics["train_samples_per_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--train-rows", type=int, default=None, help="subset of the training split (default all)"
    )
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    prepared = prepare_data(
        DataSpec(
            dataset="rotten_tomatoes",
            max_length=args.max_length,
            train_subset=args.train_rows,
            seed=args.seed,
        )
    )
    train_split, test_split = load_splits(prepared)
    common = (train_split, test_split, prepared.vocab_size, prepared.pad_token_id, args.seed, args.threads)
    hf = hf_trainer_run(*common)
    ours = our_run(*common)
    ratio = ours["samples_per_s"] / hf["samples_per_s"]
    rows = [("HF Trainer", hf), ("adls train loop", ours)]
    print(f"rotten_tomatoes train rows={len(train_split)} batch={BATCH} lr={LR} threads={args.threads}")
    print(f"{'loop':18s} {'samples/s':>10s} {'seconds':>8s} {'accuracy':>9s}")
    for name, row in rows:
        print(f"{name:18s} {row['samples_per_s']:10.1f} {row['seconds']:8.1f} {row['accuracy']:9.4f}")
    print(
        f"throughput ratio (ours / Trainer): {ratio:.2f}x; accuracy difference: "
        f"{ours['accuracy'] - hf['accuracy']:+.4f}"
    )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    result = {
        "hf_trainer": hf,
        "ours": ours,
        "ratio": ratio,
        "train_rows": len(train_split),
        "threads": args.threads,
        "numpy": np.__version__,
        "torch": torch.__version__,
    }
    (out / "train_loop.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
