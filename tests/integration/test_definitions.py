"""The composition root: resources built once per process per settings, secrets never in the key,
and the domain modules free of ``Settings``."""

from __future__ import annotations

import pytest

from momentum import definitions
from momentum.settings import Settings


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
    summary = rebalance(as_of="2022-11-30", store_url=str(tmp_path / "store"), order_timing="market")
    assert summary["execution"]["filled"] == summary["execution"]["orders"] > 0
    assert sorted(built) == ["provider", "store"]
