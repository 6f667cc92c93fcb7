"""Alpaca Market Data v2 wire format for daily bars: request parameters out, JSON pages in.

``GET /v2/stocks/bars`` answers ``{"bars": {"AAPL": [{"t", "o", "h", "l", "c", "v", "n", "vw"}, ...]},
"next_page_token": str | null}``. ``limit`` counts bars across all symbols of a page, bars come sorted by
symbol then time, and a client follows ``next_page_token`` with otherwise identical parameters until it
is null. Pure functions: no HTTP here (``alpaca_http.py`` does it).

Parsing rules (each failure raises :class:`MarketDataError` naming the request, never a key):

* the body must be a JSON object with a ``bars`` key; ``"bars": null`` is a page without bars;
* every bar needs ``t`` and numeric (int or float, finite) ``o h l c v``; strings, booleans, nulls fail;
* ``t`` is 00:00 America/New_York in UTC (``T05:00:00Z`` in winter, ``T04:00:00Z`` in summer): the
  bar's session is its New York date; a ``t`` that is not New York midnight is refused, not guessed;
* after merging the pages, rows are sorted by (symbol, date), so out-of-order pages do no harm; an
  exact duplicate bar is kept once, two different bars for one symbol and session fail;
* with ``adjustment=all`` every price is split-, dividend- and spin-off-adjusted: ``adj_close`` is
  ``c``, and ``open high low close`` are the adjusted prices too (no raw close is fetched).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from momentum.errors import PermanentError

BARS_PATH = "/v2/stocks/bars"
PAGE_LIMIT = 10_000  # Alpaca's maximum bars per page (across symbols)
MAX_SYMBOLS = 200  # symbols per request (keeps the URL short; Alpaca's own clients batch alike)
ADJUSTMENT = "all"  # split-, dividend- and spin-off-adjusted prices
FIELDS = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}
COLUMNS = ("date", "symbol", "adj_close", "open", "high", "low", "close", "volume")
_INVALID = re.compile(r"invalid symbol:\s*(\S+)", re.IGNORECASE)
NEW_YORK = "America/New_York"


class MarketDataError(PermanentError):
    """The data API refused a request, answered something we cannot use, or stayed down past the client's
    retries: the run stops in one line (never naming a key); nothing retries it again."""


class InvalidSymbolError(MarketDataError):
    """A 400 ``invalid symbol: X`` (the whole request failed because of one symbol): the provider drops
    X, records why, and asks again for the rest."""

    def __init__(self, symbol: str, message: str) -> None:
        super().__init__(message)
        self.symbol = symbol


def invalid_symbol(message: str) -> str | None:
    """The symbol a 400 message names as invalid (``invalid symbol: X``), if any."""
    found = _INVALID.search(message or "")
    return found.group(1).strip("\"',.") if found else None


def bars_params(symbols: Sequence[str], start: pd.Timestamp, end: pd.Timestamp, feed: str) -> dict[str, str]:
    """Query parameters of one daily-bars request (every page repeats them, plus ``page_token``)."""
    if not symbols or len(symbols) > MAX_SYMBOLS:
        raise ValueError(f"a bars request takes 1..{MAX_SYMBOLS} symbols, got {len(symbols)}")
    return {
        "symbols": ",".join(symbols),
        "timeframe": "1Day",
        "start": f"{start:%Y-%m-%d}",
        "end": f"{end:%Y-%m-%d}",
        "adjustment": ADJUSTMENT,
        "feed": feed,
        "limit": str(PAGE_LIMIT),
        "sort": "asc",
    }


def _columns(bars: dict, where: str) -> pd.DataFrame:
    """The page's bars as columns ``symbol, t, o, h, l, c, v`` (numbers as float64), checked."""
    for symbol, items in bars.items():
        if not isinstance(items, list):
            raise MarketDataError(f"{where}: bars of {str(symbol)[:20]!r} are not a list")
    rows = [bar for items in bars.values() for bar in items]
    symbols = np.repeat(
        np.array([str(s) for s in bars], dtype=object), [len(items) for items in bars.values()]
    )
    for i, bar in enumerate(rows):
        if not isinstance(bar, dict) or not isinstance(bar.get("t"), str):
            raise MarketDataError(f"{where}: a {symbols[i][:20]} bar is not an object with a 't' string")
    frame = (
        pd.DataFrame.from_records(rows, columns=["t", *FIELDS])
        if rows
        else pd.DataFrame(columns=["t", *FIELDS])
    )
    frame.insert(0, "symbol", symbols)
    for key in FIELDS:
        _check_numbers(frame, key, where)
    return frame


def _check_numbers(frame: pd.DataFrame, key: str, where: str) -> None:
    """``frame[key]`` as float64; a string, boolean, null, missing or infinite value raises naming its bar."""
    column = frame[key]
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    values = column.to_numpy(dtype="float64") if numeric else None
    bad = (
        ~np.isfinite(values)
        if values is not None
        else np.array(
            [isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in column],
            dtype=bool,
        )
    )
    if bad.any():
        i = int(bad.argmax())
        raise MarketDataError(
            f"{where}: {frame['symbol'].iat[i]} bar t={str(frame['t'].iat[i])[:30]!r}: field "
            f"'{key}' is not a finite number ({str(column.iat[i])[:30]!r})"
        )
    frame[key] = values if numeric else column.astype("float64")


def session_dates(stamps: Sequence[str], where: str) -> pd.DatetimeIndex:
    """Bar times (RFC 3339, UTC) -> tz-naive New York session dates; refuses non-midnight times."""
    try:
        utc = pd.to_datetime(pd.Series(stamps, dtype=object), utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise MarketDataError(f"{where}: a bar time is not an RFC 3339 timestamp ({str(exc)[:60]})") from None
    local = pd.DatetimeIndex(utc).tz_convert(NEW_YORK)
    day = local.normalize()
    off = local != day
    if off.any():
        raise MarketDataError(
            f"{where}: bar time {stamps[int(off.argmax())]!r} is not 00:00 New York "
            "(a daily bar's t is midnight America/New_York)"
        )
    return day.tz_localize(None).as_unit("ns")


def parse_page(body: Any, where: str) -> tuple[pd.DataFrame, str | None]:
    """One page -> (bars in :data:`COLUMNS`, next_page_token or None)."""
    if not isinstance(body, dict):
        raise MarketDataError(f"{where}: the reply is not a JSON object")
    if "bars" not in body:
        raise MarketDataError(f"{where}: the reply has no 'bars'")
    bars = body["bars"] or {}
    if not isinstance(bars, dict):
        raise MarketDataError(f"{where}: 'bars' is not an object keyed by symbol")
    token = body.get("next_page_token")
    if token is not None and (not isinstance(token, str) or not token):
        raise MarketDataError(f"{where}: next_page_token is not a non-empty string or null")
    cols = _columns(bars, where)
    frame = pd.DataFrame(
        {
            "date": session_dates(cols["t"].tolist(), where),
            "symbol": pd.Series(cols["symbol"].to_numpy(), dtype=str),
            "adj_close": cols["c"].to_numpy(),
            **{FIELDS[k]: cols[k].to_numpy() for k in FIELDS},
        }
    )
    return frame[list(COLUMNS)].astype({c: "float64" for c in COLUMNS[2:]}), token


def merge_pages(pages: Sequence[pd.DataFrame], where: str) -> pd.DataFrame:
    """Pages -> one frame sorted by (date, symbol); exact duplicates kept once, conflicting ones refused."""
    if not pages:
        return parse_page({"bars": {}}, where)[0]
    merged = pd.concat(pages, ignore_index=True).drop_duplicates(ignore_index=True)
    clash = merged.duplicated(["symbol", "date"], keep=False)
    if clash.any():
        row = merged[clash].iloc[0]
        raise MarketDataError(f"{where}: two different bars for {row['symbol']} on {row['date']:%Y-%m-%d}")
    return merged.sort_values(["date", "symbol"], ignore_index=True)
