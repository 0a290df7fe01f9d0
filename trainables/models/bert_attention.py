"""BERT's attention under its own name: SDPA, except training on the CPU, where fewer ops do the same.

With dropout, PyTorch's CPU SDPA takes its math path: it scales query and key, makes them
contiguous, turns HF's boolean (batch, 1, L, L) mask into an additive one in every layer, and then
runs bmm, softmax, dropout, bmm. `training_attention` does that with one `baddbmm` (scores,
scale and mask in one op) on a (batch, 1, 1, L) additive mask built once per forward. The
attention dropout is the same op on the same tensor (same probability and random draws); the
results equal SDPA's to float rounding (the scale is applied to the product instead of to query
and key). Evaluation (no dropout) and accelerators keep SDPA and its fused kernels.
"""

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, bidirectional_mask_function, eager_mask

ATTENTION = "adls_sdpa"


def training_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """HF attention-interface function: (batch, heads, L, head_dim) in, (batch, L, heads, head_dim) out."""
    if dropout == 0.0 or query.device.type != "cpu" or kwargs.get("output_attentions"):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    batch, heads, length, head_dim = query.shape
    keys = key.shape[2]
    scale = head_dim**-0.5 if scaling is None else scaling
    q = query.reshape(batch * heads, length, head_dim)
    k = key.reshape(batch * heads, keys, head_dim)
    v = value.reshape(batch * heads, keys, head_dim)
    if attention_mask is None:
        scores = torch.bmm(q, k.transpose(1, 2)).mul_(scale)
    else:
        if attention_mask.dtype == torch.bool:  # a caller's own boolean mask
            attention_mask = torch.zeros_like(attention_mask, dtype=query.dtype).masked_fill_(
                ~attention_mask, torch.finfo(query.dtype).min
            )
        mask = attention_mask.expand(batch, heads, attention_mask.shape[2], keys)
        mask = mask.reshape(batch * heads, attention_mask.shape[2], keys)
        scores = torch.baddbmm(mask, q, k.transpose(1, 2), alpha=scale)
    probs = F.dropout(F.softmax(scores, dim=-1), p=dropout, training=True)
    out = torch.bmm(probs, v).view(batch, heads, length, head_dim).transpose(1, 2)
    return out, None


def padding_mask(
    batch_size: int,
    q_length: int,
    kv_length: int,
    q_offset: int = 0,
    kv_offset: int = 0,
    mask_function=bidirectional_mask_function,
    attention_mask: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    **kwargs,
) -> torch.Tensor | None:
    """HF mask-interface function: BERT's padding mask as an additive (batch, 1, 1, L) tensor.

    Every query sees the same keys, so one row per sequence is enough; anything else (a causal
    decoder, offsets, overlays) gets HF's eager (batch, 1, q, kv) additive mask.
    """
    plain = mask_function is bidirectional_mask_function and attention_mask is not None
    if not plain or q_offset or kv_offset or attention_mask.shape[-1] != kv_length:
        return eager_mask(
            batch_size,
            q_length,
            kv_length,
            q_offset,
            kv_offset,
            mask_function,
            attention_mask,
            dtype,
            **kwargs,
        )
    keep = attention_mask[:, None, None, :].to(torch.bool)
    return torch.zeros(keep.shape, dtype=dtype, device=keep.device).masked_fill_(
        ~keep, torch.finfo(dtype).min
    )


AttentionInterface.register(ATTENTION, training_attention)
AttentionMaskInterface.register(ATTENTION, padding_mask)
