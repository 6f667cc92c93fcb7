"""Stage 2, rows: the bars sorted by (symbol, date) plus precomputed columns, checked row by row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from momentum.validation._checks import RAW_PRICES, _day
from momentum.validation._gx import _Outcome, _rows_locator, _Spec, _spec_factory

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
    """The row-level checks (every row, then the raw prices, volume and OHLC present), then the
    dataset-level ones computed on the rows (freshness, enough symbols, enough history)."""
    make = _spec_factory("rows")
    loc = lambda detail, date_col="date": _rows_locator(p.rows, detail, date_col)  # noqa: E731
    return [
        *_every_row_specs(make, loc, as_of),
        *_raw_price_specs(make, loc, p),
        *_ohlcv_specs(make, loc, p.rows),
        *_dataset_specs(make, p.rows, as_of, min_symbols=min_symbols, min_history=min_history),
    ]


def _every_row_specs(make: Callable[..., _Spec], loc: Callable[..., Any], as_of: pd.Timestamp) -> list[_Spec]:
    return [
        make("date_not_null", "ExpectColumnValuesToNotBeNull", loc("date is null"), column="date"),
        make("symbol_not_null", "ExpectColumnValuesToNotBeNull", loc("symbol is null"), column="symbol"),
        make(
            "unique_date_symbol",
            "ExpectCompoundColumnsToBeUnique",
            loc("rows share the same (date, symbol)"),
            column_list=["date", "symbol"],
        ),
        make(
            "sorted",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            loc("row dated before the previous row of the symbol (rows not in date order)"),
            column_A="date",
            column_B="_prev_input_date",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
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


def _ohlcv_specs(make: Callable[..., _Spec], loc: Callable[..., Any], rows: pd.DataFrame) -> list[_Spec]:
    specs = []
    if "volume" in rows:
        specs.append(
            make(
                "volume_nonnegative",
                "ExpectColumnValuesToBeBetween",
                loc("volume < 0"),
                column="volume",
                min_value=0,
            )
        )
    body = "max(" + ", ".join(c for c in ("open", "close") if c in rows) + ")"
    if "high" in rows and "_oc_max" in rows:
        specs.append(
            make(
                "ohlc_consistency",
                "ExpectColumnPairValuesAToBeGreaterThanB",
                loc(f"high < {body}"),
                column_A="high",
                column_B="_oc_max",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    if "low" in rows and "_oc_min" in rows:
        specs.append(
            make(
                "ohlc_consistency",
                "ExpectColumnPairValuesAToBeGreaterThanB",
                loc(f"low > {body.replace('max', 'min')}"),
                column_A="_oc_min",
                column_B="low",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    if "high" in rows and "low" in rows and "_oc_max" not in rows:
        specs.append(
            make(
                "ohlc_consistency",
                "ExpectColumnPairValuesAToBeGreaterThanB",
                loc("high < low"),
                column_A="high",
                column_B="low",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    return specs


def _dataset_specs(
    make: Callable[..., _Spec], rows: pd.DataFrame, as_of: pd.Timestamp, *, min_symbols: int, min_history: int
) -> list[_Spec]:
    """Freshness, enough symbols, enough history: each names what it saw when it fails."""
    last = rows["_session_date"].max()

    def freshness(result: Any, outcome: _Outcome) -> None:
        have = rows.loc[rows["_session_date"] == last, "symbol"].nunique() if not pd.isna(last) else 0
        outcome.fail(
            f"newest session {_day(last) or 'none'} ({have} of {rows['symbol'].nunique()} symbols have it), "
            f"expected as_of {_day(as_of)}: the data has not caught up",
            date=as_of,
        )

    def history(result: Any, outcome: _Outcome) -> None:
        got = (result.result or {}).get("observed_value")
        span = f" ({_day(rows['_session_date'].min())}..{_day(last)})" if not pd.isna(last) else ""
        outcome.fail(f"{got} session(s) in the data{span}, need at least {min_history}")

    def symbols(result: Any, outcome: _Outcome) -> None:
        present = sorted({str(s) for s in rows["symbol"].dropna().unique()})
        for s in present:
            outcome.add(
                s,
                rows.loc[rows["symbol"] == s, "date"].max(),
                1,
                f"only {len(present)} symbol(s) in the data",
            )
        shown = ", ".join(present[:10]) + (" ..." if len(present) > 10 else "")
        outcome.fail(f"{len(present)} symbol(s) ({shown}), need at least {min_symbols}", date=as_of)

    return [
        make(
            "freshness",
            "ExpectColumnMaxToBeBetween",
            freshness,
            column="_session_date",
            min_value=as_of,
            max_value=as_of,
        ),
        make(
            "enough_symbols",
            "ExpectColumnUniqueValueCountToBeBetween",
            symbols,
            column="symbol",
            min_value=min_symbols,
        ),
        make(
            "enough_history",
            "ExpectColumnUniqueValueCountToBeBetween",
            history,
            column="_session_date",
            min_value=min_history,
        ),
    ]
