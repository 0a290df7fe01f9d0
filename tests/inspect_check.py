"""`adls inspect` on a stored results folder: the check every experiment's run test makes."""

from pathlib import Path

from adls.cli import main


def assert_inspects(folder: Path, capsys) -> list[str]:
    """Run `adls inspect <folder>` (its best trial's checkpoint); return the printed lines after checking them."""
    capsys.readouterr()
    assert main(["inspect", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{folder.name} best trial ") and lines[1].split()[:3] == [
        "module",
        "kind",
        "format",
    ]
    assert any(line.startswith("bert.embeddings.word_embeddings ") for line in lines)
    assert lines[-2].startswith("total ") and lines[-1].startswith("totals (model_cost): params=")
    return lines
