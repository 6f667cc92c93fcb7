"""Provider ``files``: your own daily bars, every ``*.csv`` / ``*.parquet`` under a folder or
``s3://`` prefix.

Columns are the ``momentum validate`` schema: ``date, symbol, adj_close`` plus optional ``open, high,
low, close, volume`` (other columns are ignored). Files may split the data any way (one per symbol, per
year, one for everything); they are read recursively and concatenated. Each file is checked on its own
first, so a file that cannot be used is named: unreadable or binary content, no rows, a missing required
column, a non-numeric price or volume, an unparseable date, or a (date, symbol) that another file also
holds. Everything else (sessions, gaps, prices, freshness, ...) is the validation gate's job, as for any
provider.

The benchmark is the rows of ``benchmark_symbol`` (default ``SPY``; its ``adj_close`` is the level):
they are served by :meth:`FilesProvider.benchmark` and left out of :meth:`FilesProvider.bars`, so the
benchmark is never a tradable name. Files without those rows fail the benchmark in one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import fsspec
import pandas as pd

from momentum.errors import PermanentError, TransientError, is_transient_io, s3_problem
from momentum.records import NUMERIC, REQUIRED

SUFFIXES = (".csv", ".parquet")


class BarsFileError(PermanentError):
    """A bars file that cannot be used as it is: the run stops in one line naming the file."""


def read_bars(path: str, fs: fsspec.AbstractFileSystem | None = None) -> pd.DataFrame:
    """A csv or parquet file in the bars schema; dates parsed, nothing else coerced (dtypes are checked)."""
    fs = fs or fsspec.filesystem("file")
    with fs.open(path, "rb") as handle:
        bars = pd.read_parquet(handle) if path.lower().endswith((".parquet", ".pq")) else pd.read_csv(handle)
    if "date" in bars and not pd.api.types.is_datetime64_any_dtype(bars["date"]):
        bars["date"] = pd.to_datetime(bars["date"], errors="coerce")
    return bars


def _problem(bars: pd.DataFrame) -> str | None:
    """Why a file's frame cannot join the bars (None when it can)."""
    missing = [c for c in REQUIRED if c not in bars]
    if missing:
        return f"missing column(s) {', '.join(missing)} (has {', '.join(map(str, bars.columns)) or 'none'})"
    if not len(bars):
        return "no rows"
    for column in [c for c in NUMERIC if c in bars]:
        if not pd.api.types.is_numeric_dtype(bars[column]) or pd.api.types.is_bool_dtype(bars[column]):
            bad = pd.to_numeric(bars[column], errors="coerce").isna() & bars[column].notna()
            example = f", e.g. {bars[column][bad].iloc[0]!r}" if bad.any() else ""
            return f"column {column} is not numeric{example}"
    if bars["date"].isna().any():
        return f"{int(bars['date'].isna().sum())} row(s) with a missing or unparseable date"
    return None


def read_file(path: str, fs: fsspec.AbstractFileSystem, url: str) -> pd.DataFrame:
    """One file's bars (known columns only), or :class:`BarsFileError` naming ``url`` and the problem
    (:class:`TransientError` when the storage failed for a moment, see :func:`is_transient_io`)."""
    try:
        bars = read_bars(path, fs)
    except Exception as exc:  # noqa: BLE001 - any reader failure is this file's problem, named below
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if is_transient_io(exc):
            raise TransientError(f"bars file {url}: storage unavailable ({reason})") from exc
        raise BarsFileError(
            f"bars file {url}: not a readable {path.rsplit('.', 1)[-1]} file ({reason})"
        ) from exc
    problem = _problem(bars)
    if problem:
        raise BarsFileError(
            f"bars file {url}: {problem} (expected columns {', '.join(REQUIRED)}[, {', '.join(NUMERIC[1:])}])"
        )
    return bars[[c for c in (*REQUIRED, *NUMERIC[1:]) if c in bars]]


def _url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    protocol = fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol
    return path if protocol == "file" else f"{protocol}://{path}"


def read_folder(url: str) -> pd.DataFrame:
    """Every bars file under ``url`` (recursive), concatenated and sorted by (date, symbol).

    The result is cached per process by the files' names, sizes and ETags (or mtimes): the stages of a
    run read the files once, and a changed file is read again. Do not modify the returned frame.
    """
    try:
        fs, root = fsspec.core.url_to_fs(url)
        if not fs.exists(root):
            raise BarsFileError(
                f"files_path {url} does not exist (set files_path to a folder or s3:// prefix)"
            )
        found = fs.find(root, detail=True).items()
    except (BarsFileError, ImportError):
        raise
    except Exception as exc:  # noqa: BLE001 - an S3 failure the user can fix is one line naming the path
        problem = s3_problem(exc)
        if problem is None:
            raise
        raise BarsFileError(problem[0], f"files_path {url}", problem[1]) from None
    files = tuple(
        sorted(
            (p, info.get("size"), str(info.get("ETag") or info.get("mtime")))
            for p, info in found
            if p.lower().endswith(SUFFIXES)
        )
    )
    if not files:
        raise BarsFileError(f"files_path {url} holds no {' or '.join(SUFFIXES)} files")
    return _read_files(url, files)


@lru_cache(maxsize=4)
def _read_files(url: str, files: tuple[tuple[str, Any, str], ...]) -> pd.DataFrame:
    fs, _ = fsspec.core.url_to_fs(url)
    frames = [read_file(p, fs, _url(fs, p)).assign(_file=_url(fs, p)) for p, _, _ in files]
    bars = pd.concat(frames, ignore_index=True)
    bars["date"] = bars["date"].astype("datetime64[ns]")
    twice = bars[bars.duplicated(["date", "symbol"], keep=False)]
    names = sorted(set(twice["_file"]))
    if len(names) > 1:
        first = twice.iloc[0]
        raise BarsFileError(
            f"bars files {names[0]} and {names[1]} both hold {first['symbol']} "
            f"{first['date']:%Y-%m-%d} (keep each (date, symbol) in one file)"
        )
    return bars.drop(columns="_file").sort_values(["date", "symbol"], kind="stable", ignore_index=True)


class FilesProvider:
    """Bars from the user's files (see :func:`read_folder`); benchmark from ``benchmark_symbol``."""

    name = "files"
    needs_symbols = False

    def __init__(self, path: str, benchmark_symbol: str = "SPY") -> None:
        self.path = path
        self.benchmark_symbol = benchmark_symbol

    def lineage(self) -> dict[str, object]:
        return {}

    def _bars(self) -> pd.DataFrame:
        return read_folder(self.path)

    def _window(self, start: pd.Timestamp | None, end: pd.Timestamp) -> pd.DataFrame:
        bars = self._bars()
        mask = bars["date"] <= pd.Timestamp(end)
        if start is not None:
            mask &= bars["date"] >= pd.Timestamp(start)
        return bars[mask]

    def bars(
        self, start: pd.Timestamp | None, end: pd.Timestamp, symbols: Sequence[str] | None = None
    ) -> pd.DataFrame:
        bars = self._window(start, end)
        keep = bars["symbol"] != self.benchmark_symbol
        if symbols is not None:
            keep &= bars["symbol"].isin(list(symbols))
        return bars[keep].reset_index(drop=True)

    def benchmark(self, start: pd.Timestamp | None, end: pd.Timestamp) -> pd.Series:
        rows = self._window(start, end)
        rows = rows[rows["symbol"] == self.benchmark_symbol]
        if not len(rows):
            raise BarsFileError(
                f"files_path {self.path} has no rows for the benchmark {self.benchmark_symbol} up to "
                f"{pd.Timestamp(end):%Y-%m-%d} (add them, or set benchmark_symbol to a symbol in the files)"
            )
        return rows.set_index("date")["adj_close"].astype("float64").rename("benchmark")

    def last_session(self) -> pd.Timestamp:
        return pd.Timestamp(self._bars()["date"].max())
