"""The tree a newcomer reads: small packages that say what they hold, and functions that fit a screen.

No package of search/ or trainables/ has a module with more than 12 siblings (an entry is a module
other than `__init__.py` or a subpackage; 13 entries give each 12 siblings). Every package says
what it offers in its `__init__.py` docstring. No function of the project is longer than 80 lines
(tests/ and bench/ aside).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GROUPED = ("search", "trainables")
MAX_SIBLINGS = 12
CODE = ("adls", "search", "trainables", "analysis", "cluster")
MAX_FUNCTION_LINES = 80


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


def long_functions(paths: list[Path], limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """{'file:function': lines} of every function (methods and nested ones too) longer than `limit`."""
    found = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    return found


def test_no_function_is_longer_than_eighty_lines():
    paths = [ROOT / "errors.py", *(path for top in CODE for path in sorted((ROOT / top).rglob("*.py")))]
    assert long_functions(paths) == {}


def test_the_checker_measures_functions_from_def_to_last_line():
    here = Path(__file__)
    assert long_functions([here], limit=3) and not long_functions([here], limit=1000)
