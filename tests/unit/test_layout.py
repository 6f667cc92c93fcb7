"""The shape of the code (issue 17): no import cycle, no import of another package's private module, and
a domain library whose top level holds only its subpackages and a few shared modules.

The import graph is read from the sources with ``ast`` (TYPE_CHECKING and function-level imports count
too): importing ``a.b.c`` also imports the packages ``a`` and ``a.b``, so edges go to those as well,
except to the importer's own enclosing packages, which are already being imported."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("momentum", "tasks", "flows", "momentum_cli")
TOP_LEVEL = {"__init__", "errors", "settings", "definitions", "calendar", "records"}


def module_files() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported_names(module: str, path: Path) -> set[str]:
    """Every module name ``module`` imports (absolute; ``from a import b`` gives ``a`` and ``a.b``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports, with the packages they sit in."""
    files = module_files()
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        targets = set()
        for name in imported_names(module, path):
            parts = name.split(".")
            targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & files.keys()
        graph[module] = targets - own - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_another_packages_private_module():
    offenders = []
    for module, targets in import_graph().items():
        for target in targets:
            parts = target.split(".")
            private = [
                i for i, part in enumerate(parts) if part.startswith("_") and not part.startswith("__")
            ]
            if not private:
                continue
            owner = ".".join(parts[: private[0]])
            if module != owner and not module.startswith(owner + "."):
                offenders.append(f"{module} -> {target}")
    assert offenders == []


def test_the_domain_top_level_holds_only_subpackages_and_shared_modules():
    top = ROOT / "momentum"
    modules = {path.stem for path in top.glob("*.py")}
    assert modules == TOP_LEVEL
    packages = {path.parent.name for path in top.glob("*/__init__.py")}
    assert {
        "store",
        "strategy",
        "universe",
        "history",
        "portfolio",
        "execution",
        "backtest",
        "run",
    } <= packages


def test_every_subpackage_names_its_public_api():
    for init in (ROOT / "momentum").glob("*/__init__.py"):
        if init.parent.name == "data":
            continue
        tree = ast.parse(init.read_text())
        assigned = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets}
        assert "__all__" in assigned, f"{init.relative_to(ROOT)} has no __all__"
