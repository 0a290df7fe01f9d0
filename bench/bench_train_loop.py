"""Our training loop against Hugging Face Trainer, side by side in one run, on equal terms.

Both sides: the same seeded bert-tiny-shaped model, the same tokenized Rotten Tomatoes data, the
quick profile's settings (batch 32, lr 1e-3, up to 64 tokens, one epoch, gradient clipping 1.0,
linear decay, AdamW), one torch thread, and length-grouped batches (Trainer with
`train_sampling_strategy="group_by_length"`, transformers 5's spelling of `group_by_length=True`;
ours groups by length always). Each side is warmed up first, then the
timed runs alternate (Trainer first, then ours first, ...). At these settings the model learns:
the bench asserts that both end above the test split's majority share by `--margin`, so "equal
accuracy" compares trained models, not two majority-class guessers.

Times are the process's CPU seconds (`time.process_time`, every thread), not wall time: on a machine
shared with other work, wall time mostly measures waiting for a core. Prints min and median
samples/s per side and their ratio, writes bench/out/train_loop.json.

    PYTHONPATH=. .venv/bin/python bench/bench_train_loop.py [--repeats 2] [--threads 1] [--margin 0.05]
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from search.profiles import get_profile
from trainables.data import DataSpec, load_splits, prepare_data
from trainables.models.classifier import build_model
from trainables.train_loop import TrainSettings, evaluate, train

PROFILE = get_profile("quick")


def hf_trainer_run(train_split, vocab_size: int, pad_id: int, seed: int, rows: int | None = None):
    """Train a fresh seeded model with HF Trainer (group_by_length); returns (model, seconds)."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    count = len(train_split) if rows is None else rows
    ids = [
        train_split.token_ids[train_split.offsets[i] : train_split.offsets[i + 1]].tolist()
        for i in range(count)
    ]
    # `length` is the column Trainer's LengthGroupedSampler reads (computed otherwise).
    dataset = Dataset.from_dict(
        {"input_ids": ids, "labels": train_split.labels[:count].tolist(), "length": [len(r) for r in ids]}
    )

    def collate(batch):  # dynamic padding, as DataCollatorWithPadding does, without a tokenizer
        length = max(len(r["input_ids"]) for r in batch)
        input_ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), length), dtype=torch.long)
        for i, r in enumerate(batch):
            input_ids[i, : len(r["input_ids"])] = torch.tensor(r["input_ids"])
            mask[i, : len(r["input_ids"])] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": mask,
            "labels": torch.tensor([r["labels"] for r in batch]),
        }

    model = build_model(vocab_size, 2, seed=seed)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=PROFILE.batch_size,
            learning_rate=PROFILE.lr,
            num_train_epochs=1,
            max_grad_norm=1.0,
            lr_scheduler_type="linear",
            # transformers 5's name for group_by_length=True (LengthGroupedSampler, mega-batches of 50).
            train_sampling_strategy="group_by_length",
            report_to=[],
            save_strategy="no",
            logging_strategy="no",
            seed=seed,
            use_cpu=True,
            dataloader_num_workers=0,
            disable_tqdm=True,
        )
        trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate)
        start = time.process_time()
        trainer.train()
        return model, time.process_time() - start


def our_run(train_split, vocab_size: int, pad_id: int, seed: int, epochs: float = 1.0):
    """Train a fresh seeded model with trainables.train_loop.train; returns (model, seconds)."""
    model = build_model(vocab_size, 2, seed=seed)
    settings = TrainSettings(
        epochs=epochs, batch_size=PROFILE.batch_size, lr=PROFILE.lr, seed=seed, grad_clip=1.0
    )
    start = time.process_time()
    train(model, train_split, settings, torch.device("cpu"), pad_id)
    return model, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per side (alternating order)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--margin", type=float, default=0.05, help="required accuracy above the majority share"
    )
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(args.threads)
    prepared = prepare_data(
        DataSpec(dataset="rotten_tomatoes", max_length=PROFILE.max_length, seed=args.seed)
    )
    train_split, test_split = load_splits(prepared)
    common = (train_split, prepared.vocab_size, prepared.pad_token_id, args.seed)
    majority = float(np.bincount(test_split.labels).max() / len(test_split))

    # Warm-up: both code paths (imports, allocator, first-call costs) on a slice of the data.
    hf_trainer_run(*common, rows=512)
    our_run(*common, epochs=512 / len(train_split))

    runs = {"HF Trainer (group_by_length)": hf_trainer_run, "adls train loop": our_run}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    accuracy: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(args.repeats):
        order = list(runs) if repeat % 2 == 0 else list(reversed(runs))
        for name in order:
            model, elapsed = runs[name](*common)
            seconds[name].append(elapsed)
            scores = evaluate(model, test_split, torch.device("cpu"), 128, prepared.pad_token_id)
            accuracy[name].append(scores["accuracy"])

    rows = len(train_split)
    print(
        f"rotten_tomatoes train rows={rows} batch={PROFILE.batch_size} lr={PROFILE.lr} "
        f"max_length={PROFILE.max_length} threads={args.threads} repeats={args.repeats} (alternating)"
    )
    print(f"{'loop':30s} {'min s':>7s} {'median s':>9s} {'samples/s (best)':>17s} {'accuracy':>9s}")
    table = {}
    for name in runs:
        best, median = min(seconds[name]), statistics.median(seconds[name])
        table[name] = {
            "seconds": seconds[name],
            "samples_per_s_best": rows / best,
            "samples_per_s_median": rows / median,
            "accuracy": accuracy[name],
        }
        print(f"{name:30s} {best:7.1f} {median:9.1f} {rows / best:17.1f} {min(accuracy[name]):9.4f}")
    hf, ours = table["HF Trainer (group_by_length)"], table["adls train loop"]
    ratio_best = ours["samples_per_s_best"] / hf["samples_per_s_best"]
    ratio_median = ours["samples_per_s_median"] / hf["samples_per_s_median"]
    print(
        f"throughput ratio (ours / Trainer): {ratio_best:.2f}x on the best runs, {ratio_median:.2f}x on the "
        f"medians; test majority share {majority:.4f}"
    )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    result = {
        **table,
        "ratio_best": ratio_best,
        "ratio_median": ratio_median,
        "majority_share": majority,
        "margin": args.margin,
        "train_rows": rows,
        "threads": args.threads,
        "torch": torch.__version__,
    }
    (out / "train_loop.json").write_text(json.dumps(result, indent=1))
    for name in runs:
        worst = min(accuracy[name])
        assert worst >= majority + args.margin, (
            f"{name} reached {worst:.4f}, not above the majority share {majority:.4f} by {args.margin}: "
            "the models did not learn, so equal accuracy would prove nothing"
        )


if __name__ == "__main__":
    main()
