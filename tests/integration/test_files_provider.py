"""Provider ``files``: the user's own csv/parquet bars in a folder or an s3:// prefix (moto), through a
run and the gate, and the CLI naming a malformed file. (Reading and checking the files: tests/unit.)"""

from __future__ import annotations

import uuid

import fsspec
import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.rebalance import rebalance
from momentum.store import VersionedStore
from momentum_cli.app import app
from tests.support.bar_files import AS_OF, embedded_as_files


def scores(url: str) -> pd.DataFrame:
    store = VersionedStore(url)
    return store.read(store.resolve("scores").ref)


@pytest.mark.usefixtures("prefect_api")
def test_files_score_like_the_same_bars_via_embedded(tmp_path, s3_server):
    embedded = rebalance(as_of=AS_OF, store_url=str(tmp_path / "embedded"))
    for where in (str(tmp_path / "files"), f"s3://momentum-test/{uuid.uuid4().hex}/bars"):
        embedded_as_files(where)
        store_url = str(tmp_path / "store" / uuid.uuid4().hex)
        run = rebalance(
            as_of=AS_OF,
            store_url=store_url,
            provider="files",
            overrides={"files_path": where, "universe": "sp500"},
        )
        assert run["as_of"] == AS_OF
        pd.testing.assert_frame_equal(scores(store_url), scores(str(tmp_path / "embedded")))
        assert [o["symbol"] for o in run["orders"]] == [o["symbol"] for o in embedded["orders"]]


def test_cli_names_the_malformed_file_in_one_line(tmp_path, s3_server):
    url = f"s3://momentum-test/{uuid.uuid4().hex}"
    embedded_as_files(url)
    fsspec.filesystem("s3").pipe_file(
        f"{url.removeprefix('s3://')}/csv/ZZZ.csv", b"date,symbol\n2022-11-30,ZZZ\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--as-of",
            AS_OF,
            "--store",
            str(tmp_path / "store"),
            "--provider",
            "files",
            "--set",
            f"files_path={url}",
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: bars file {url}/csv/ZZZ.csv: missing column(s) adj_close (has date, symbol) "
        "(expected columns date, symbol, adj_close[, open, high, low, close, volume])"
    )
    assert not (tmp_path / "store" / "orders").exists()
