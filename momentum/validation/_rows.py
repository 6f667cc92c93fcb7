"""Stage 2, rows: the bars sorted by (symbol, date) plus precomputed columns, checked row by row (the
dataset-level checks on them are in :mod:`momentum.validation._dataset`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from momentum.records import RAW_PRICES
from momentum.validation._checks import _day
from momentum.validation._dataset import _dataset_specs
from momentum.validation._gx import _rows_locator, _Spec, _spec_factory

_MAX_FLOAT = float(np.finfo("float64").max)  # upper bound that only +inf exceeds


@dataclass
class _Prepared:
    rows: pd.DataFrame  # sorted by (symbol, date), RangeIndex, with precomputed columns
    codes: np.ndarray  # symbol code per sorted row (-1: null symbol)
    symbols: np.ndarray  # code -> symbol
    pos: np.ndarray  # session position per sorted row (-1: not a session)
    raw: list[str]  # raw price columns present


def _floats(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _previous_input_dates(codes: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """The date of the previous row of the same symbol in *input* order (for the sort check)."""
    grouped = np.argsort(codes, kind="stable")
    gcodes = codes[grouped]
    same = np.r_[False, (gcodes[1:] == gcodes[:-1]) & (gcodes[1:] >= 0)]
    prev_in_group = np.r_[np.datetime64("NaT", "ns"), dates[grouped][:-1]]
    prev_in_group[~same] = np.datetime64("NaT")
    prev_input = np.empty(len(codes), dtype="datetime64[ns]")
    prev_input[grouped] = prev_in_group
    return prev_input


def _price_bounds(data: dict[str, Any], frame: pd.DataFrame, raw: list[str]) -> None:
    """``_raw_min`` (NaN if any raw price is NaN, -inf if any is infinite, so "> 0 and finite" is one
    bound) and ``_oc_max`` / ``_oc_min`` (of open and close) for the OHLC checks."""
    if raw:
        stack = np.column_stack([data[c] for c in raw])
        data["_raw_min"] = np.where(np.isinf(stack).any(axis=1), -np.inf, stack.min(axis=1))
    body = [c for c in ("open", "close") if c in frame]
    if body:
        stack = np.column_stack([data[c] for c in body])
        with np.errstate(invalid="ignore"):
            data["_oc_max"] = np.fmax.reduce(stack, axis=1)
            data["_oc_min"] = np.fmin.reduce(stack, axis=1)


def _prepare(frame: pd.DataFrame, sessions: pd.DatetimeIndex, as_of: pd.Timestamp) -> _Prepared:
    n = len(frame)
    dates = frame["date"].to_numpy(dtype="datetime64[ns]")
    codes, symbols = pd.factorize(frame["symbol"], sort=True)
    codes = codes.astype(np.int64)
    prev_input = _previous_input_dates(codes, dates)
    order = np.lexsort((dates.view(np.int64), codes))
    d = dates[order]
    pos = sessions.get_indexer(pd.DatetimeIndex(d)) if n else np.zeros(0, dtype=np.int64)
    nat = np.isnat(d)
    session_date = np.where(pos >= 0, d, np.datetime64("NaT"))
    calendar_pos = np.where(nat | (d > as_of.to_datetime64()), np.nan, pos.astype("float64"))

    data: dict[str, Any] = {
        "date": d,
        "symbol": frame["symbol"].to_numpy(dtype=object)[order],
        "adj_close": _floats(frame["adj_close"])[order],
    }
    raw = [c for c in RAW_PRICES if c in frame]
    for c in raw + (["volume"] if "volume" in frame else []):
        data[c] = _floats(frame[c])[order]
    data["_prev_input_date"] = prev_input[order]
    data["_session_date"] = session_date
    data["_calendar_pos"] = calendar_pos
    _price_bounds(data, frame, raw)
    rows = pd.DataFrame(data)
    return _Prepared(rows, codes[order], np.asarray(symbols, dtype=object), pos, raw)


def _row_specs(p: _Prepared, as_of: pd.Timestamp, *, min_symbols: int, min_history: int) -> list[_Spec]:
    """The row-level checks (keys and order, dates, adj_close, then the raw prices, volume and OHLC
    present), then the dataset-level ones computed on the rows (freshness, enough symbols, history)."""
    make = _spec_factory("rows")
    loc = lambda detail, date_col="date": _rows_locator(p.rows, detail, date_col)  # noqa: E731
    return [
        *_key_specs(make, loc),
        *_date_specs(make, loc, as_of),
        *_adj_close_specs(make, loc),
        *_raw_price_specs(make, loc, p),
        *_volume_specs(make, loc, p.rows),
        *_ohlc_specs(make, loc, p.rows),
        *_dataset_specs(make, p.rows, as_of, min_symbols=min_symbols, min_history=min_history),
    ]


def _a_at_least_b(
    make: Callable[..., _Spec], check: str, locate: Callable[..., Any], column_a: str, column_b: str
) -> _Spec:
    """``column_a >= column_b`` on every row where both are present."""
    return make(
        check,
        "ExpectColumnPairValuesAToBeGreaterThanB",
        locate,
        column_A=column_a,
        column_B=column_b,
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )


def _key_specs(make: Callable[..., _Spec], loc: Callable[..., Any]) -> list[_Spec]:
    """Date and symbol present, one row per (date, symbol), dates in order within each symbol."""
    return [
        make("date_not_null", "ExpectColumnValuesToNotBeNull", loc("date is null"), column="date"),
        make("symbol_not_null", "ExpectColumnValuesToNotBeNull", loc("symbol is null"), column="symbol"),
        make(
            "unique_date_symbol",
            "ExpectCompoundColumnsToBeUnique",
            loc("rows share the same (date, symbol)"),
            column_list=["date", "symbol"],
        ),
        _a_at_least_b(
            make,
            "sorted",
            loc("row dated before the previous row of the symbol (rows not in date order)"),
            "date",
            "_prev_input_date",
        ),
    ]


def _date_specs(make: Callable[..., _Spec], loc: Callable[..., Any], as_of: pd.Timestamp) -> list[_Spec]:
    """Every date up to as_of is an exchange session; no date after as_of."""
    return [
        make(
            "calendar",
            "ExpectColumnValuesToBeBetween",
            loc("date is not an exchange session (weekend, holiday or time of day)"),
            column="_calendar_pos",
            min_value=0,
        ),
        make(
            "future_date",
            "ExpectColumnValuesToBeBetween",
            loc(f"date is after as_of {_day(as_of)}"),
            column="date",
            max_value=as_of,
        ),
    ]


def _adj_close_specs(make: Callable[..., _Spec], loc: Callable[..., Any]) -> list[_Spec]:
    """adj_close not NaN, > 0 and finite."""
    return [
        make("price_not_null", "ExpectColumnValuesToNotBeNull", loc("adj_close is NaN"), column="adj_close"),
        make(
            "price_positive",
            "ExpectColumnValuesToBeBetween",
            loc("adj_close <= 0 or infinite"),
            column="adj_close",
            min_value=0,
            strict_min=True,
            max_value=_MAX_FLOAT,
        ),
    ]


def _raw_price_specs(make: Callable[..., _Spec], loc: Callable[..., Any], p: _Prepared) -> list[_Spec]:
    if not p.raw:
        return []
    names = "/".join(p.raw)
    return [
        make(
            "price_positive",
            "ExpectColumnValuesToBeBetween",
            loc(f"a raw price ({names}) <= 0 or infinite"),
            column="_raw_min",
            min_value=0,
            strict_min=True,
        ),
        make(
            "raw_price_not_null",
            "ExpectColumnValuesToNotBeNull",
            loc(f"a raw price ({names}) is NaN"),
            column="_raw_min",
        ),
    ]


def _volume_specs(make: Callable[..., _Spec], loc: Callable[..., Any], rows: pd.DataFrame) -> list[_Spec]:
    """volume >= 0, when the column exists."""
    if "volume" not in rows:
        return []
    return [
        make(
            "volume_nonnegative",
            "ExpectColumnValuesToBeBetween",
            loc("volume < 0"),
            column="volume",
            min_value=0,
        )
    ]


def _ohlc_specs(make: Callable[..., _Spec], loc: Callable[..., Any], rows: pd.DataFrame) -> list[_Spec]:
    """high >= max(open, close) and low <= min(open, close) of the columns present; high >= low when
    neither open nor close is."""
    body = "max(" + ", ".join(c for c in ("open", "close") if c in rows) + ")"
    specs = []
    if "high" in rows and "_oc_max" in rows:
        specs.append(_a_at_least_b(make, "ohlc_consistency", loc(f"high < {body}"), "high", "_oc_max"))
    if "low" in rows and "_oc_min" in rows:
        low = loc(f"low > {body.replace('max', 'min')}")
        specs.append(_a_at_least_b(make, "ohlc_consistency", low, "_oc_min", "low"))
    if "high" in rows and "low" in rows and "_oc_max" not in rows:
        specs.append(_a_at_least_b(make, "ohlc_consistency", loc("high < low"), "high", "low"))
    return specs
