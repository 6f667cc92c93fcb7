"""Verify on read (issue 18): a damaged version is caught before use, in one line naming it; ``store
verify`` lists every damaged version and ``store ls`` still lists the rest. On a local folder here and on
S3 (moto) in tests/integration/s3."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from momentum.store import DATA, MANIFEST, CorruptVersion, DatasetRef, VersionedStore
from momentum_cli.app import app

ORDERS = pd.DataFrame(
    {
        "client_order_id": ["mom-20221130-CVX-buy", "mom-20221130-XOM-buy"],
        "symbol": ["CVX", "XOM"],
        "side": ["buy", "buy"],
        "qty": [111.0, 150.0],
    }
)
BARS = pd.DataFrame(
    {
        "date": pd.to_datetime(["2022-11-29", "2022-11-30"] * 2).astype("datetime64[ns]"),
        "symbol": ["CVX", "CVX", "XOM", "XOM"],
        "adj_close": [180.0, 182.5, 110.0, 111.25],
    }
)


def key(ref: DatasetRef, name: str = DATA) -> str:
    return f"{ref.dataset}/as_of={ref.as_of}/v={ref.version}/{name}"


def rewrite(store: VersionedStore, ref: DatasetRef, frame: pd.DataFrame) -> None:
    """Replace a version's data object with a valid parquet of ``frame`` (what a tamperer would do)."""
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    store.fs.pipe_file(f"{store.root}/{key(ref)}", sink.getvalue())


def damage(store: VersionedStore, path: str, change) -> None:
    store.fs.pipe_file(f"{store.root}/{path}", change(store.fs.cat_file(f"{store.root}/{path}")))


def flipped(payload: bytes) -> bytes:
    middle = len(payload) // 2
    return payload[:middle] + bytes(b ^ 0xFF for b in payload[middle : middle + 64]) + payload[middle + 64 :]


def caught(store_url: str, ref: DatasetRef, name: str = DATA) -> str:
    """The one-line error a fresh reader (nothing in memory) raises for ``ref``."""
    with pytest.raises(CorruptVersion) as err:
        VersionedStore(store_url).read(ref)
    line = str(err.value)
    assert "\n" not in line and ref.dataset in line and ref.as_of in line and ref.version in line
    assert key(ref, name) in line and "momentum store verify" in line
    return line


def five_damaged(store_url: str) -> tuple[VersionedStore, dict[str, DatasetRef], DatasetRef]:
    """The issue's five damages, one per version, and one intact version."""
    store = VersionedStore(store_url)
    refs = {
        "quantity": store.write("orders", "2022-11-30", ORDERS),
        "close": store.write("bars", "2022-11-30", BARS),
        "flipped": store.write("scores", "2022-11-30", BARS.assign(score=1.0)),
        "truncated": store.write("scores", "2022-10-31", BARS.assign(score=2.0)),
        "manifest": store.write("validation", "2022-11-30", BARS),
    }
    intact = store.write("orders", "2022-10-31", ORDERS)
    rewrite(store, refs["quantity"], ORDERS.assign(qty=ORDERS["qty"] * [2, 1]))
    rewrite(store, refs["close"], BARS.assign(adj_close=BARS["adj_close"] * [1, 1.05, 1, 1]))
    damage(store, key(refs["flipped"]), flipped)
    damage(store, key(refs["truncated"]), lambda b: b[: len(b) // 2])
    damage(store, key(refs["manifest"], MANIFEST), lambda b: b"{not json" + b[:40])
    return store, refs, intact


def test_each_damage_is_caught_in_one_line_naming_the_version(store_url):
    _, refs, intact = five_damaged(store_url)
    rewritten = (
        "sha256 differs",
        "bytes where the manifest records",
    )  # a new file: new bytes, often a new size
    assert any(problem in caught(store_url, refs["quantity"]) for problem in rewritten)
    assert any(problem in caught(store_url, refs["close"]) for problem in rewritten)
    assert "sha256 differs" in caught(store_url, refs["flipped"])
    assert "bytes where the manifest records" in caught(store_url, refs["truncated"])
    assert "not JSON" in caught(store_url, refs["manifest"], MANIFEST)
    pd.testing.assert_frame_equal(VersionedStore(store_url).read(intact), ORDERS)


def test_a_damaged_latest_version_stops_resolution_instead_of_being_skipped(store_url):
    _, refs, _ = five_damaged(store_url)
    with pytest.raises(CorruptVersion, match=refs["manifest"].version):
        VersionedStore(store_url).resolve("validation")


def test_store_verify_lists_every_damaged_version_and_ls_lists_the_rest(store_url):
    _, refs, intact = five_damaged(store_url)
    runner = CliRunner()
    verified = runner.invoke(app, ["store", "verify", "--store", store_url])
    assert verified.exit_code == 1
    for ref in refs.values():
        assert f"v={ref.version}" in verified.stdout
    assert intact.version not in verified.stdout
    assert verified.stderr.strip().splitlines() == [
        f"error: 5 damaged version(s), store {store_url} "
        "(delete each damaged version's folder and re-run the flow that wrote it)"
    ]
    as_json = json.loads(
        runner.invoke(app, ["store", "verify", "orders", "--store", store_url, "--json"]).stdout
    )
    assert [(d["version"], d["key"]) for d in as_json] == [(refs["quantity"].version, key(refs["quantity"]))]
    listed = runner.invoke(app, ["store", "ls", "--store", store_url])
    assert listed.exit_code == 0, listed.output
    assert f"v={refs['manifest'].version}  DAMAGED: the manifest is not JSON" in listed.stdout
    assert f"v={intact.version}" in listed.stdout and f"v={refs['quantity'].version}" in listed.stdout


def test_a_healthy_store_verifies_clean(store_url):
    store = VersionedStore(store_url)
    store.write("orders", "2022-11-30", ORDERS)
    store.write_parts("history", "2022-11-30", {"year=2022": BARS})
    result = CliRunner().invoke(app, ["store", "verify", "--store", store_url])
    assert result.exit_code == 0 and "every version is intact" in result.stdout


def test_a_damaged_part_is_caught_and_the_manifest_missing_fields_too(store_url):
    store = VersionedStore(store_url)
    parts = store.write_parts(
        "history", "2022-11-30", {"year=2021": BARS, "year=2022": BARS.assign(adj_close=1.0)}
    )
    damage(store, f"{key(parts, 'year=2022.parquet')}", flipped)
    assert "sha256 differs" in caught(store_url, parts, "year=2022.parquet")
    pd.testing.assert_frame_equal(VersionedStore(store_url).read(parts, parts=["year=2021"]), BARS)
    plain = store.write("orders", "2022-11-30", ORDERS)
    damage(store, key(plain, MANIFEST), lambda b: json.dumps({"dataset": "orders"}).encode())
    assert "missing as_of" in caught(store_url, plain, MANIFEST)


def test_a_version_written_before_the_byte_checksums_is_checked_against_its_content_checksum(store_url):
    store = VersionedStore(store_url)
    ref = store.write("orders", "2022-11-30", ORDERS)
    older = {k: v for k, v in json.loads(store.fs.cat_file(f"{store.root}/{key(ref, MANIFEST)}")).items()}
    del older["size"], older["sha256"]
    store.fs.pipe_file(f"{store.root}/{key(ref, MANIFEST)}", json.dumps(older).encode())
    pd.testing.assert_frame_equal(VersionedStore(store_url).read(ref, columns=["qty"]), ORDERS[["qty"]])
    rewrite(store, ref, ORDERS.assign(qty=ORDERS["qty"] * 2))
    assert "content checksum differs" in caught(store_url, ref)


def test_a_read_checks_the_bytes_it_fetched_without_a_second_request(store_url, monkeypatch):
    store = VersionedStore(store_url)
    ref = store.write("orders", "2022-11-30", ORDERS)
    fresh, gets = VersionedStore(store_url), []
    real_get = fresh._get
    monkeypatch.setattr(fresh, "_get", lambda path: gets.append(path) or real_get(path))
    fresh.read(ref)
    fresh.read(ref, columns=["qty"])
    assert sorted(gets) == sorted([f"{store.root}/{key(ref, MANIFEST)}", f"{store.root}/{key(ref)}"])
