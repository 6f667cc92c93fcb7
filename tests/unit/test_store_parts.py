"""Versions made of several parquet objects (one per part), on a local folder and on S3 (moto)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from momentum.store import DATA, MANIFEST, StoreError, VersionedStore


def year(y: int, seed: int = 0) -> pd.DataFrame:
    dates = pd.bdate_range(f"{y}-01-01", f"{y}-12-31")[:20].astype("datetime64[ns]")
    rng = np.random.default_rng(seed + y)
    return pd.DataFrame(
        {
            "date": dates.repeat(2),
            "symbol": ["A", "B"] * len(dates),
            "adj_close": rng.uniform(1, 100, 2 * len(dates)),
        }
    )


def objects(store: VersionedStore, dataset: str) -> list[str]:
    store.fs.invalidate_cache()
    return sorted(p for p in store.fs.find(f"{store.root}/{dataset}") if p.endswith(".parquet"))


def test_parts_round_trip_and_read_by_part(store_url):
    store = VersionedStore(store_url)
    parts = {f"year={y}": year(y) for y in (2020, 2021, 2022)}
    ref = store.write_parts("history", "2022-12-30", parts, params={"provider": "x"})
    manifest = store.manifest(ref)
    assert sorted(manifest.parts) == ["year=2020", "year=2021", "year=2022"] and manifest.rows == 120
    assert (
        list(manifest.columns) == ["date", "symbol", "adj_close"]
        and manifest.columns["adj_close"] == "double"
    )
    pd.testing.assert_frame_equal(store.read(ref), pd.concat(parts.values(), ignore_index=True))
    pd.testing.assert_frame_equal(store.read(ref, parts=["year=2021"]), parts["year=2021"])
    assert len(objects(store, "history")) == 3
    assert store.write_parts("history", "2022-12-30", parts, params={"provider": "x"}) == ref


def test_an_unchanged_part_of_the_base_is_shared_not_written_again(store_url):
    store = VersionedStore(store_url)
    first = store.write_parts("history", "2021-12-31", {"year=2020": year(2020), "year=2021": year(2021)})
    base = store.manifest(first)
    grown = {
        "year=2020": year(2020),
        "year=2021": pd.concat([year(2021), year(2021, seed=9).tail(2)]),
        "year=2022": year(2022),
    }
    second = store.write_parts("history", "2022-12-30", grown, base=base)
    manifest = store.manifest(second)
    assert manifest.parts["year=2020"] == base.parts["year=2020"]  # the first version's object, shared
    assert manifest.parts["year=2021"]["path"] != base.parts["year=2021"]["path"]
    assert len(objects(store, "history")) == 4  # 2 + the changed 2021 and the new 2022
    pd.testing.assert_frame_equal(store.read(second), pd.concat(grown.values(), ignore_index=True))
    pd.testing.assert_frame_equal(store.read(first), pd.concat([year(2020), year(2021)], ignore_index=True))


def test_a_writer_that_dies_between_parts_leaves_no_version(store_url, monkeypatch):
    store = VersionedStore(store_url)
    real_put, written = store._put, []

    def die_on_the_second_part(path, payload):
        if path.endswith(".parquet") and written:
            raise ConnectionError("connection lost")
        written.append(path)
        real_put(path, payload)

    monkeypatch.setattr(store, "_put", die_on_the_second_part)
    with pytest.raises(ConnectionError):
        store.write_parts("history", "2022-12-30", {"year=2021": year(2021), "year=2022": year(2022)})
    assert len(written) == 1 and store.refs("history") == []
    with pytest.raises(StoreError, match="no committed version"):
        store.resolve("history")


def test_single_object_versions_keep_their_layout_and_manifest(tmp_path):
    store = VersionedStore(str(tmp_path))
    ref = store.write("bars", "2022-03-01", year(2022), params={"k": 1})
    folder = tmp_path / "bars" / f"as_of={ref.as_of}" / f"v={ref.version}"
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, DATA]
    record = json.loads((folder / MANIFEST).read_text())
    assert list(record) == [
        "dataset",
        "as_of",
        "version",
        "fingerprint",
        "created_at",
        "rows",
        "columns",
        "checksum",
        "inputs",
        "params",
        "code_version",
        "flow_run_id",
        "path",
        "size",  # the data object's bytes, checked by every read (issue 18)
        "sha256",
    ]
    assert store.manifest(ref).parts == {}


def test_a_version_needs_a_part(tmp_path):
    with pytest.raises(ValueError, match="needs at least one part"):
        VersionedStore(str(tmp_path)).write_parts("history", "2022-12-30", {})


def test_kept_parts_are_carried_over_without_reading(store_url, monkeypatch):
    store = VersionedStore(store_url)
    base = store.manifest(
        store.write_parts("history", "2021-12-31", {"year=2020": year(2020), "year=2021": year(2021)})
    )
    monkeypatch.setattr(store, "_read_object", lambda *a: pytest.fail("a kept part was read"))
    ref = store.write_parts(
        "history", "2022-12-30", {"year=2022": year(2022)}, base=base, keep=["year=2020", "year=2021"]
    )
    manifest = store.manifest(ref)
    assert {k: v["path"] for k, v in manifest.parts.items() if k != "year=2022"} == {
        k: v["path"] for k, v in base.parts.items()
    }
    assert manifest.rows == 120
    monkeypatch.undo()
    pd.testing.assert_frame_equal(
        store.read(ref), pd.concat([year(2020), year(2021), year(2022)], ignore_index=True)
    )


def test_latest_is_the_newest_committed_version_and_skips_a_half_written_one(store_url):
    store = VersionedStore(store_url)
    assert store.latest("history") is None
    store.write_parts("history", "2021-12-31", {"year=2021": year(2021)})
    newest = store.write_parts("history", "2022-12-30", {"year=2022": year(2022)})
    store.write_parts("history", "2022-06-30", {"year=2022": year(2022, seed=5)})
    store._put(
        f"{store.root}/history/as_of=2023-01-03/v=29990101T000000000000Z-0123456789abcdef/year=2023.parquet",
        b"half written: no manifest",
    )
    assert store.latest("history").ref == newest == store.refs("history")[-1]
