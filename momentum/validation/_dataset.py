"""Stage 2, the dataset-level checks computed on the sorted rows: freshness (the newest session is
as_of), enough symbols, enough history; each names what it saw when it fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from momentum.validation._checks import _day
from momentum.validation._gx import _Outcome, _Spec


def _freshness_locator(rows: pd.DataFrame, last: Any, as_of: pd.Timestamp) -> Callable[[Any, _Outcome], None]:
    """Names the newest session in the data and how many symbols have it."""

    def freshness(result: Any, outcome: _Outcome) -> None:
        have = rows.loc[rows["_session_date"] == last, "symbol"].nunique() if not pd.isna(last) else 0
        outcome.fail(
            f"newest session {_day(last) or 'none'} ({have} of {rows['symbol'].nunique()} symbols have it), "
            f"expected as_of {_day(as_of)}: the data has not caught up",
            date=as_of,
        )

    return freshness


def _history_locator(rows: pd.DataFrame, last: Any, min_history: int) -> Callable[[Any, _Outcome], None]:
    """Names how many sessions the data has, and their span."""

    def history(result: Any, outcome: _Outcome) -> None:
        got = (result.result or {}).get("observed_value")
        span = f" ({_day(rows['_session_date'].min())}..{_day(last)})" if not pd.isna(last) else ""
        outcome.fail(f"{got} session(s) in the data{span}, need at least {min_history}")

    return history


def _symbols_count_locator(
    rows: pd.DataFrame, as_of: pd.Timestamp, min_symbols: int
) -> Callable[[Any, _Outcome], None]:
    """Names the symbols present, each a finding at its last bar."""

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

    return symbols


def _dataset_specs(
    make: Callable[..., _Spec], rows: pd.DataFrame, as_of: pd.Timestamp, *, min_symbols: int, min_history: int
) -> list[_Spec]:
    """Freshness, enough symbols, enough history: each names what it saw when it fails."""
    last = rows["_session_date"].max()
    return [
        make(
            "freshness",
            "ExpectColumnMaxToBeBetween",
            _freshness_locator(rows, last, as_of),
            column="_session_date",
            min_value=as_of,
            max_value=as_of,
        ),
        make(
            "enough_symbols",
            "ExpectColumnUniqueValueCountToBeBetween",
            _symbols_count_locator(rows, as_of, min_symbols),
            column="symbol",
            min_value=min_symbols,
        ),
        make(
            "enough_history",
            "ExpectColumnUniqueValueCountToBeBetween",
            _history_locator(rows, last, min_history),
            column="_session_date",
            min_value=min_history,
        ),
    ]
