"""Hand a trained model on: a `from_pretrained` folder, an ONNX file checked in ONNX Runtime, MASE's pass config.

- `export_hf(model, recipe, folder, ...)` / `load_compressed(folder)`: hf_folder.py
- `export_onnx(model, path)` / `check_onnx(path, model, split, ...)`: onnx_graph.py, onnx_check.py
- `mase_pass_args(model, recipe)` / `write_mase(...)`: mase_config.py
- `model_card(facts)`: model_card.py

Every target stores what the compressed model computes: weights on their format's grid, pruned
zeros kept (on_grid.py). ONNX and onnxruntime are imported only by the ONNX functions.
"""

from trainables.models.export.hf_folder import COMPRESSION_KEY, export_hf, load_compressed
from trainables.models.export.mase_config import mase_pass_args, mase_prune_args, write_mase
from trainables.models.export.model_card import CardFacts, model_card
from trainables.models.export.on_grid import on_grid_state

__all__ = [
    "COMPRESSION_KEY",
    "CardFacts",
    "export_hf",
    "load_compressed",
    "mase_pass_args",
    "mase_prune_args",
    "model_card",
    "on_grid_state",
    "write_mase",
]
