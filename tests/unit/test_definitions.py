"""The composition root: resources built once per process per settings, secrets never in the key,
and the domain modules free of ``Settings``."""

from __future__ import annotations

import ast
from pathlib import Path

from momentum import definitions
from momentum.settings import Settings

PACKAGE = Path(definitions.__file__).parent


def test_each_resource_is_built_once_per_settings(tmp_path):
    first = Settings(store_url=str(tmp_path / "a"), provider="synthetic", synthetic_symbols=12)
    same = Settings(store_url=str(tmp_path / "a"), provider="synthetic", synthetic_symbols=12)
    other = first.with_overrides(store_url=str(tmp_path / "b"))
    assert definitions.store(first) is definitions.store(same)
    assert definitions.store(other) is not definitions.store(first)
    assert definitions.provider(first) is definitions.provider(same)
    assert definitions.provider(first.with_overrides(synthetic_symbols=13)) is not definitions.provider(first)


def test_only_the_root_reads_settings():
    """Every module of the domain takes typed values: ``Settings`` is imported by the root alone."""
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        if "momentum.settings" in imported:
            readers.append(path.relative_to(PACKAGE).as_posix())
    assert readers == ["definitions.py"]
