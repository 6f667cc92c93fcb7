"""The versioned parquet store, on a local folder and on a real S3-compatible server (moto)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from momentum.store import DATA, MANIFEST, StoreError, VersionedStore


def frame(seed: int = 0, rows: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "date": pd.date_range("2022-01-03", periods=rows, freq="D").astype("datetime64[ns]"),
            "symbol": [f"S{i % 5}" for i in range(rows)],
            "adj_close": rng.uniform(1, 100, rows),
        }
    )


def test_round_trip_keeps_values_and_dtypes(store_url):
    store = VersionedStore(store_url)
    original = frame()
    ref = store.write("bars", "2022-03-01", original, params={"provider": "x"})
    back = store.read(ref)
    pd.testing.assert_frame_equal(back, original)
    manifest = store.manifest(ref)
    assert manifest.rows == 50 and manifest.columns["adj_close"] == "double"
    assert manifest.params == {"provider": "x"} and manifest.path.endswith(DATA)


def test_same_inputs_reuse_the_committed_version(store_url):
    store = VersionedStore(store_url)
    first = store.write("scores", "2022-03-01", frame(1), inputs={"bars": "bars@x/1"}, params={"k": 1})
    again = store.write("scores", "2022-03-01", frame(1), inputs={"bars": "bars@x/1"}, params={"k": 1})
    other = store.write("scores", "2022-03-01", frame(1), inputs={"bars": "bars@x/2"}, params={"k": 1})
    assert again == first and other != first
    assert len(store.refs("scores")) == 2
    assert store.lookup("scores", "2022-03-01", inputs={"bars": "bars@x/1"}, params={"k": 1}) == first
    assert store.lookup("scores", "2022-03-01", inputs={"bars": "bars@x/9"}, params={"k": 1}) is None


def test_content_addressed_versions_change_only_with_content(store_url):
    store = VersionedStore(store_url)
    a = store.write("account", "2022-03-01", frame(1), content_addressed=True)
    b = store.write("account", "2022-03-01", frame(1), content_addressed=True)
    c = store.write("account", "2022-03-01", frame(2), content_addressed=True)
    assert a == b and c != a


def test_resolution_latest_named_and_as_of(store_url):
    store = VersionedStore(store_url)
    jan = store.write("account", "2022-01-31", frame(1))
    feb1 = store.write("account", "2022-02-28", frame(2))
    feb2 = store.write("account", "2022-02-28", frame(3))
    assert store.resolve("account").ref == feb2
    assert store.resolve("account", version=feb1.version).ref == feb1
    assert store.resolve("account", as_of="2022-02-15").ref == jan
    assert store.resolve("account", as_of="2022-02-28").ref == feb2
    with pytest.raises(StoreError, match="no committed version as of 2021-12-31"):
        store.resolve("account", as_of="2021-12-31")
    with pytest.raises(StoreError, match="'missing'"):
        store.resolve("missing")


def test_half_written_version_is_invisible(store_url):
    """A writer that died after the data file and before the manifest leaves nothing visible."""
    store = VersionedStore(store_url)
    committed = store.write("bars", "2022-03-01", frame(1))
    orphan = f"{store.root}/bars/as_of=2022-03-02/v=20990101T000000000000Z-deadbeefdeadbeef"
    store.fs.makedirs(orphan, exist_ok=True)
    store.fs.pipe_file(f"{orphan}/{DATA}", b"partial parquet")
    assert store.refs("bars") == [committed]
    assert store.resolve("bars").ref == committed
    with pytest.raises(StoreError, match="not committed"):
        from momentum.store import DatasetRef

        store.read(DatasetRef("bars", "2022-03-02", "20990101T000000000000Z-deadbeefdeadbeef"))


def test_crash_inside_the_data_write_leaves_no_version(store_url, monkeypatch):
    store = VersionedStore(store_url)
    calls = []
    real_put = store._put

    def dying_put(path, payload):
        calls.append(path)
        if path.endswith(MANIFEST):
            raise OSError("process died before commit")
        real_put(path, payload)

    monkeypatch.setattr(store, "_put", dying_put)
    with pytest.raises(OSError):
        store.write("orders", "2022-03-01", frame(1))
    monkeypatch.undo()
    assert store.refs("orders") == [] and calls[0].endswith(DATA)
    ref = store.write("orders", "2022-03-01", frame(1))
    assert store.refs("orders") == [ref]


def test_lineage_is_recorded(store_url):
    store = VersionedStore(store_url)
    bars = store.write("bars", "2022-03-01", frame(1))
    scores = store.write(
        "scores",
        "2022-03-01",
        frame(2),
        inputs={"bars": bars},
        params={"lookback": 252},
        flow_run_id="run-123",
    )
    m = store.manifest(scores)
    assert m.inputs == {"bars": str(bars)} and m.params == {"lookback": 252} and m.flow_run_id == "run-123"
    assert m.code_version and m.created_at and len(m.checksum) == 64
    assert store.datasets() == ["bars", "scores"]


def test_whole_universe_read_is_one_object(store_url):
    store = VersionedStore(store_url)
    ref = store.write("bars", "2022-03-01", frame(1, rows=5000))
    folder = f"{store.root}/bars/as_of=2022-03-01/v={ref.version}"
    assert sorted(p.rsplit("/", 1)[-1] for p in store.fs.ls(folder, detail=False)) == [MANIFEST, DATA]
    assert store.read(ref, columns=["symbol"]).shape == (5000, 1)


def test_a_failed_write_removes_its_temporary_file(tmp_path, monkeypatch):
    store = VersionedStore(str(tmp_path / "store"))

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("os.fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        store.write("bars", "2022-03-01", frame())
    with pytest.raises(OSError, match="Input/output error"):
        store._create(f"{store.root}/claims/first.json", b"{}")
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()] == []
    assert store.refs("bars") == []
