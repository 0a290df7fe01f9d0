"""Tutorial 2's fine-tuning choices for the base model: train everything, freeze the embeddings, or LoRA.

MASE's Tutorial 2 (docs/source/modules/documentation/tutorials/tutorial_2_lora_finetune.py) freezes
the embeddings, fine-tunes one epoch (its `tutorial_2_sft` checkpoint), then inserts rank-6 LoRA
adapters into every Linear layer, trains one more epoch and fuses the adapters into the weights
(`tutorial_2_lora`, the checkpoint Lab 1 starts from). `lora` here is that whole sequence.
"""

from torch import nn

LORA_RANK = 6
# The tutorial passes {"rank": 6, "alpha": 1.0, "dropout": 0.5}, but MASE's
# insert_lora_adapter_transform_pass reads "lora_alpha" and "lora_dropout", so what runs is its
# defaults: alpha 0.5, no dropout. We use what runs.
LORA_ALPHA = 0.5
LORA_DROPOUT = 0.0


def freeze_embeddings(model: nn.Module) -> None:
    """Stop training the word, position and token-type embeddings (and their LayerNorm), as Tutorial 2 does."""
    for parameter in model.base_model.embeddings.parameters():
        parameter.requires_grad = False


def trainable_params(model: nn.Module) -> int:
    """How many parameters an optimizer built now would train."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def add_lora(model: nn.Module) -> nn.Module:
    """Wrap `model` with rank-6 LoRA adapters on every Linear of the encoder and pooler (peft).

    Only the adapters and the classification head train: peft's sequence-classification setting
    trains the head in full (MASE puts an adapter on it too) and keeps LayerNorms frozen. The
    adapters start at zero, so the wrapped model computes what `model` did. Undo with merge_lora.
    """
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=LORA_RANK,
        lora_alpha=LORA_ALPHA,
        lora_dropout=LORA_DROPOUT,
        target_modules="all-linear",
        task_type="SEQ_CLS",
    )
    return get_peft_model(model, config)


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its Linear's weight (W + alpha / rank * B A) and return the plain model.

    Every later stage then quantizes and prunes ordinary nn.Linear layers, and a saved checkpoint
    loads without peft. Unlike MASE's fuse pass, each Linear keeps its bias.
    """
    merged = model.merge_and_unload()
    for parameter in merged.parameters():
        parameter.requires_grad = True
    return merged
