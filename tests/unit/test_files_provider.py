"""Provider ``files``: the user's own csv/parquet bars in a folder, read and checked file by file.
(On S3 and through a run and the CLI: tests/integration.)"""

from __future__ import annotations

import pandas as pd
import pytest

from momentum.providers.embedded import EmbeddedProvider
from momentum.providers.files import BarsFileError, FilesProvider, read_folder
from tests.support.bar_files import AS_OF, embedded_as_files


def test_benchmark_rows_are_the_benchmark_and_never_a_bar(tmp_path):
    embedded_as_files(str(tmp_path))
    provider = FilesProvider(str(tmp_path))
    bars = provider.bars(None, pd.Timestamp(AS_OF))
    assert "SPY" not in set(bars["symbol"]) and bars["symbol"].nunique() == 20
    expected = EmbeddedProvider().benchmark(None, pd.Timestamp(AS_OF))
    assert provider.benchmark(None, pd.Timestamp(AS_OF)).to_numpy().tolist() == expected.to_numpy().tolist()
    assert provider.last_session() == pd.Timestamp(AS_OF)
    assert set(provider.bars(None, pd.Timestamp(AS_OF), ["AAPL", "KO"])["symbol"]) == {"AAPL", "KO"}
    with pytest.raises(
        BarsFileError, match=r"no rows for the benchmark QQQ up to 2022-11-30 .*set benchmark_symbol"
    ):
        FilesProvider(str(tmp_path), benchmark_symbol="QQQ").benchmark(None, pd.Timestamp(AS_OF))


GOOD = b"date,symbol,adj_close\n2022-11-29,AAA,10.0\n2022-11-30,AAA,10.5\n"


@pytest.mark.parametrize(
    ("name", "payload", "problem"),
    [
        ("bad.csv", b"", "not a readable csv file (No columns to parse from file)"),
        ("bad.parquet", b"\x00\x01 definitely not parquet \xff" * 20, "not a readable parquet file"),
        (
            "bad.csv",
            b"date,ticker,close\n2022-11-30,AAA,1\n",
            "missing column(s) symbol, adj_close (has date, ticker, close)",
        ),
        ("bad.csv", b"date,symbol,adj_close\n", "no rows"),
        (
            "bad.csv",
            b"date,symbol,adj_close\n2022-11-30,AAA,n/a?\n",
            "column adj_close is not numeric, e.g. 'n/a?'",
        ),
        (
            "bad.csv",
            b"date,symbol,adj_close\nyesterday,AAA,1\n",
            "1 row(s) with a missing or unparseable date",
        ),
    ],
)
def test_a_malformed_file_is_named(tmp_path, name, payload, problem):
    (tmp_path / "good.csv").write_bytes(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / name).write_bytes(payload)
    with pytest.raises(BarsFileError) as caught:
        read_folder(str(tmp_path))
    message = str(caught.value)
    assert message.startswith(f"bars file {tmp_path / 'sub' / name}: {problem}") and "\n" not in message


def test_a_binary_csv_and_duplicates_across_files_are_named(tmp_path):
    (tmp_path / "a.csv").write_bytes(GOOD)
    (tmp_path / "b.csv").write_bytes(GOOD.replace(b"10.0", b"10.1"))
    with pytest.raises(BarsFileError, match=r"bars files .*a\.csv and .*b\.csv both hold AAA 2022-11-29"):
        read_folder(str(tmp_path))
    (tmp_path / "b.csv").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(BarsFileError, match=r"^bars file .*b\.csv: "):
        read_folder(str(tmp_path))
    with pytest.raises(BarsFileError, match="files_path .*nowhere does not exist"):
        read_folder(str(tmp_path / "nowhere"))


def test_files_provider_needs_a_path():
    from momentum.settings import Settings

    with pytest.raises(ValueError, match="provider='files' needs files_path"):
        Settings(provider="files")


def test_files_are_read_once_per_process_and_again_when_changed(tmp_path, monkeypatch):
    import momentum.providers.files as files

    (tmp_path / "a.csv").write_bytes(GOOD)
    opened = []
    real = files.read_file
    monkeypatch.setattr(files, "read_file", lambda p, fs, url: opened.append(url) or real(p, fs, url))
    first = read_folder(str(tmp_path))
    assert read_folder(str(tmp_path)) is first and len(opened) == 1
    (tmp_path / "a.csv").write_bytes(GOOD + b"2022-12-01,AAA,11.25\n")
    assert read_folder(str(tmp_path))["adj_close"].tolist() == [10.0, 10.5, 11.25] and len(opened) == 2
