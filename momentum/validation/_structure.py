"""Stage 1, structure: required columns, dtypes, at least one row, on the bars as given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from momentum.records import NUMERIC, REQUIRED
from momentum.validation._checks import NULL_SYMBOL, _day
from momentum.validation._gx import _Outcome, _Spec, _spec_factory, _unexpected

_DATE_TYPES = ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"]
_NUMBER_TYPES = [
    "float64",
    "float32",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint64",
    "uint32",
    "uint16",
    "uint8",
    "float",
    "int",
]


def _structure_frame(bars: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy GX can type-check: symbol as object (GX 1.24 does not know pandas 3's ``str``
    dtype), nullable/arrow numeric columns as float64 (NA -> NaN), default RangeIndex."""
    frame = bars.copy(deep=False).reset_index(drop=True)
    if (
        "symbol" in frame
        and frame["symbol"].dtype != object
        and (
            pd.api.types.is_string_dtype(frame["symbol"])
            or isinstance(frame["symbol"].dtype, pd.CategoricalDtype)
        )
    ):
        frame["symbol"] = frame["symbol"].astype(object)
    for col in NUMERIC:
        if col in frame:
            dtype = frame[col].dtype
            if (
                isinstance(dtype, pd.api.extensions.ExtensionDtype)
                and pd.api.types.is_numeric_dtype(dtype)
                and not pd.api.types.is_bool_dtype(dtype)
            ):
                frame[col] = frame[col].to_numpy(dtype="float64", na_value=np.nan)
    return frame


def _coerced_keys(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    if "symbol" in frame:
        sym = frame["symbol"].astype(object)
        symbols = np.where(sym.isna(), NULL_SYMBOL, sym.astype(str)).astype(object)
    else:
        symbols = np.full(n, NULL_SYMBOL, dtype=object)
    dates = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if "date" in frame:
        try:
            parsed = pd.to_datetime(frame["date"], errors="coerce")
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_localize(None)
            dates = parsed.to_numpy(dtype="datetime64[ns]")
        except (TypeError, ValueError, AttributeError):
            pass
    return symbols, dates


def _dtype_locator(frame: pd.DataFrame, column: str, expected: str) -> Callable[[Any, _Outcome], None]:
    def locate(result: Any, outcome: _Outcome) -> None:
        col = frame[column]
        idx = _unexpected(result)
        if len(idx):  # object column: GX checked every value
            bad = col.iloc[idx[0]]
            detail = (
                f"{column} holds values that are not {expected} (e.g. {bad!r} of type {type(bad).__name__})"
            )
        else:  # the dtype itself is wrong: every non-null row is affected
            idx = np.flatnonzero(col.notna().to_numpy()) if len(col) else idx
            if not len(idx):
                idx = np.arange(len(col))
            detail = f"{column} has dtype {col.dtype}, expected {expected}"
        symbols, dates = _coerced_keys(frame)
        rows = pd.DataFrame({"symbol": symbols[idx], "date": dates[idx]})
        grouped = rows.groupby("symbol", sort=True)["date"].agg(["min", "size"])
        for symbol, row in grouped.iterrows():
            outcome.add(symbol, row["min"], int(row["size"]), detail)
        first = rows.sort_values("date", na_position="last").iloc[0] if len(rows) else None
        where = f", first {first['symbol']} {_day(first['date'])}" if first is not None else ""
        outcome.fail(
            f"{detail} ({len(idx)} row(s){where})",
            failures=max(len(idx), 1),
            date=grouped["min"].min() if len(grouped) else pd.NaT,
        )

    return locate


def _structure_specs(frame: pd.DataFrame, as_of: pd.Timestamp) -> list[_Spec]:
    make = _spec_factory("structure")

    def fixed(text: str) -> Callable[[Any, _Outcome], None]:
        return lambda result, outcome: outcome.fail(text)

    specs = [
        make(
            "not_empty",
            "ExpectTableRowCountToBeBetween",
            fixed(f"no rows (as_of {_day(as_of)})"),
            min_value=1,
        )
    ]
    for column in REQUIRED:
        specs.append(
            make("schema", "ExpectColumnToExist", fixed(f"missing required column {column!r}"), column=column)
        )
    expected = {"date": ("tz-naive datetime64", _DATE_TYPES), "symbol": ("str", ["str"])}
    expected.update({c: ("a float or int", _NUMBER_TYPES) for c in NUMERIC})
    for column, (label, types) in expected.items():
        if column in frame:
            specs.append(
                make(
                    "dtypes",
                    "ExpectColumnValuesToBeInTypeList",
                    _dtype_locator(frame, column, label),
                    column=column,
                    type_list=types,
                )
            )
    return specs
