"""Folders that pass the driver's saved-model check (recipe.json + a zip model.pt) for ranking tests."""

import json
import zipfile
from pathlib import Path


def saved_model_folder(folder: Path) -> str:
    """Write the smallest folder check_saved_model accepts (no tensors: never loaded) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.json").write_text(json.dumps({}))
    with zipfile.ZipFile(folder / "model.pt", "w") as archive:  # torch.save's container, one entry
        archive.writestr("model/data.pkl", b"never unpickled")
    return str(folder)
