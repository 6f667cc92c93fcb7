"""The composition root: resources built once per process per settings, secrets never in the key,
and the domain modules free of ``Settings``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

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


def test_secrets_are_compared_never_keyed(monkeypatch, tmp_path):
    keyed = {"provider": "alpaca", "store_url": str(tmp_path), "alpaca_data_url": "http://127.0.0.1:9"}
    one = Settings(**keyed, alpaca_key_id="KEY-ONE", alpaca_secret_key="SECRET-ONE-xyz")
    two = Settings(**keyed, alpaca_key_id="KEY-TWO", alpaca_secret_key="SECRET-TWO-xyz")
    assert one.public() == two.public()
    first = definitions.provider(one)
    assert definitions.provider(one) is first
    second = definitions.provider(two)
    assert second is not first  # the same public settings with other keys: built again, with those keys
    assert second.client._keys == ("KEY-TWO", "SECRET-TWO-xyz")
    cache_keys = repr(list(definitions._BUILT))
    assert "SECRET-ONE" not in cache_keys and "SECRET-TWO" not in cache_keys and "KEY-ONE" not in cache_keys


@pytest.mark.usefixtures("prefect_api")
def test_a_run_builds_its_store_and_provider_once_not_per_task(monkeypatch, tmp_path):
    from flows.rebalance import rebalance

    built: list[str] = []
    build_provider, store_class = definitions._build_provider, definitions.VersionedStore
    monkeypatch.setattr(
        definitions, "_build_provider", lambda s: built.append("provider") or build_provider(s)
    )
    monkeypatch.setattr(definitions, "VersionedStore", lambda url: built.append("store") or store_class(url))
    summary = rebalance(as_of="2022-11-30", store_url=str(tmp_path / "store"))
    assert summary["execution"]["filled"] == summary["execution"]["orders"] > 0
    assert sorted(built) == ["provider", "store"]


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
