"""`check_onnx`: run an exported model in ONNX Runtime on a test split and compare with PyTorch."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainables.data import TokenizedSplit
from trainables.data.batching import iterate_batches
from trainables.train_loop import model_mask


@dataclass
class OnnxCheck:
    """ONNX Runtime vs PyTorch on the same batches: accuracies, prediction agreement, largest logit gap."""

    onnx_accuracy: float
    torch_accuracy: float
    agreement: float
    max_logit_diff: float
    rows: int

    def line(self) -> str:
        return (
            f"ONNX Runtime on {self.rows} test rows: accuracy {self.onnx_accuracy:.4f} "
            f"(PyTorch {self.torch_accuracy:.4f}), same prediction on {self.agreement:.2%}, "
            f"max |logit difference| {self.max_logit_diff:.2e}"
        )


@torch.no_grad()
def check_onnx(
    path: str | Path, model: nn.Module, split: TokenizedSplit, batch_size: int = 128, pad_token_id: int = 0
) -> OnnxCheck:
    """Evaluate `path` in ONNX Runtime and `model` in PyTorch on `split`, batch by batch as adls evaluates.

    The batches are the evaluation's own (same order and padding), so batch-dependent steps
    (activation pruning ranks a whole batch) see the same inputs on both sides.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    model.eval()
    correct_onnx = correct_torch = same = rows = 0
    worst = 0.0
    for batch in iterate_batches(split, batch_size, shuffle=False, pad_token_id=pad_token_id):
        feeds = {"input_ids": batch.input_ids.numpy(), "attention_mask": batch.attention_mask.numpy()}
        onnx_logits = session.run(["logits"], feeds)[0]
        torch_logits = model(input_ids=batch.input_ids, attention_mask=model_mask(batch)).logits.numpy()
        labels = batch.labels.numpy()
        onnx_pred, torch_pred = onnx_logits.argmax(-1), torch_logits.argmax(-1)
        correct_onnx += int((onnx_pred == labels).sum())
        correct_torch += int((torch_pred == labels).sum())
        same += int((onnx_pred == torch_pred).sum())
        worst = max(worst, float(np.abs(onnx_logits - torch_logits).max()))
        rows += len(labels)
    return OnnxCheck(correct_onnx / rows, correct_torch / rows, same / rows, worst, rows)
