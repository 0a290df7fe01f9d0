"""The tree a newcomer reads: no package of search/ or trainables/ holds more than 12 entries beside one.

An entry is a module (other than `__init__.py`) or a subpackage; a package with 13 entries gives each
entry 12 siblings. Every package says what it offers in its `__init__.py` docstring.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GROUPED = ("search", "trainables")
MAX_SIBLINGS = 12


def packages() -> list[Path]:
    """Every package folder under the grouped top-level packages (the top-level ones included)."""
    return sorted(init.parent for top in GROUPED for init in (ROOT / top).rglob("__init__.py"))


def entries(package: Path) -> list[str]:
    """The modules and subpackages directly inside `package`."""
    modules = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    subpackages = [p.name for p in package.iterdir() if (p / "__init__.py").is_file()]
    return sorted(modules + subpackages)


def test_no_module_has_more_than_twelve_siblings():
    crowded = {
        str(package.relative_to(ROOT)): len(entries(package))
        for package in packages()
        if len(entries(package)) - 1 > MAX_SIBLINGS
    }
    assert crowded == {}


def test_every_package_says_what_it_offers():
    silent = [
        str(package.relative_to(ROOT))
        for package in packages()
        if not ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
    ]
    assert silent == []


def test_the_checker_counts_modules_and_subpackages():
    assert "runner.py" in entries(ROOT / "search") and "experiments" in entries(ROOT / "search")
    assert "__init__.py" not in entries(ROOT / "search") and len(packages()) > 10
