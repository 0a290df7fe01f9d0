"""The import graph drawn from the code: no circle, and every arrow points down the layers.

Every `import` statement counts, also those inside functions (a hidden import is still an arrow).
Layers, top to bottom: adls/ (the command line) -> search/, cluster/ -> trainables/ ->
trainables/compress/ -> errors.py. analysis/ reads files: it imports only itself and errors.py.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("adls", "search", "cluster", "trainables", "analysis")

# What each part of the project must never import (by module-name prefix).
FORBIDDEN = {
    "adls": (),
    "errors": ("adls", "search", "cluster", "trainables", "analysis"),
    # Anything of trainables/ outside compress/ (compress imports itself, which `_forbidden` allows).
    "trainables.compress": ("adls", "search", "cluster", "analysis", "trainables."),
    "trainables": ("adls", "search", "cluster", "analysis"),
    "search": ("adls", "cluster"),
    "cluster": ("adls",),
    "analysis": ("adls", "search", "cluster", "trainables"),
}


def project_modules() -> dict[str, Path]:
    """Every module of the project by dotted name (packages by their own name)."""
    modules = {"errors": ROOT / "errors.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its file (function bodies included)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` imports the module; `from module import name` the module.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def _part(name: str) -> str:
    """The FORBIDDEN key that governs a module: its most specific listed prefix."""
    keys = sorted(FORBIDDEN, key=len, reverse=True)
    return next(key for key in keys if name == key or name.startswith(key + "."))


def _forbidden(source: str, target: str) -> bool:
    part = _part(source)
    if part == "trainables.compress" and target.startswith("trainables.compress"):
        return False
    return any(
        target == banned or target.startswith(banned if banned.endswith(".") else banned + ".")
        for banned in FORBIDDEN[part]
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_drawn_from_the_code():
    graph = import_graph()
    assert {"search.runner", "search.experiments.registry", "errors"} <= graph[
        "adls.cli"
    ]  # imports inside functions too
    assert "search.storage" in graph["cluster.jobs"]  # `from search import storage`
    assert graph["errors"] == set() and len(graph) > 80


def test_no_import_circle():
    assert cycles(import_graph()) == []


def test_no_upward_arrow():
    graph = import_graph()
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        for target in targets
        if _forbidden(source, target)
    )
    assert upward == []


def test_the_checker_sees_a_circle_and_an_upward_arrow():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _forbidden("search.runner", "cluster.jobs") and _forbidden("analysis.figures", "search.storage")
    assert _forbidden("trainables.compress.cost", "trainables.models.classifier")
    assert not _forbidden("cluster.jobs", "search.storage") and not _forbidden("search.runner", "errors")
