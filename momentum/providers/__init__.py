"""Price providers: adapters that return bars in the project's schema, behind one Protocol
(:func:`momentum.definitions.provider` picks one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pandas as pd


class PriceProvider(Protocol):
    """Daily bars: ``date`` (session, tz-naive), ``symbol``, ``adj_close`` (+ optional raw OHLCV).

    ``symbols`` None means the provider's own full set; a list restricts the bars to those symbols.
    ``needs_symbols``: a live source that must be told which symbols to fetch (it has no full set).
    """

    name: str
    needs_symbols: bool

    def lineage(self) -> dict[str, object]:
        """What identifies this source's bars in their lineage, besides its name (no secrets)."""
        ...

    def bars(
        self, start: pd.Timestamp | None, end: pd.Timestamp, symbols: Sequence[str] | None = None
    ) -> pd.DataFrame: ...

    def benchmark(self, start: pd.Timestamp | None, end: pd.Timestamp) -> pd.Series: ...

    def last_session(self) -> pd.Timestamp: ...


def fetch_lineage(provider: PriceProvider, sessions: int, symbols: Sequence[str] | None) -> dict[str, object]:
    """The params of a fetched dataset: the provider, the ``sessions`` of history asked for, the
    provider's own lineage and the ``symbols`` asked for (when the provider was told)."""
    asked = {"requested_symbols": list(symbols)} if symbols is not None else {}
    return {"provider": provider.name, "sessions": sessions} | provider.lineage() | asked


def wide_to_bars(wide: pd.DataFrame) -> pd.DataFrame:
    """Wide adjusted closes (index dates, one column per symbol) -> long bars sorted by (date, symbol)."""
    long = (
        wide.rename_axis("date").reset_index().melt(id_vars="date", var_name="symbol", value_name="adj_close")
    )
    long = long.dropna(subset=["adj_close"])
    long["date"] = pd.to_datetime(long["date"]).astype("datetime64[ns]")
    long["symbol"] = long["symbol"].astype(str)
    long["adj_close"] = long["adj_close"].astype("float64")
    return long.sort_values(["date", "symbol"], ignore_index=True)


def bars_to_wide(bars: pd.DataFrame, column: str = "adj_close") -> pd.DataFrame:
    """Long bars -> wide frame (index sessions, columns symbols sorted, NaN where no bar)."""
    wide = bars.pivot(index="date", columns="symbol", values=column)
    return wide.sort_index().reindex(sorted(wide.columns), axis=1)


def adjusted_opens(bars: pd.DataFrame) -> pd.DataFrame | None:
    """Long bars -> wide adjusted opens: open x adj_close / close of each bar (the open on the adjusted
    closes' scale), NaN where a bar lacks a raw open or close; None when the bars have no such columns."""
    if not {"open", "close"} <= set(bars.columns):
        return None
    return bars_to_wide(bars.assign(adj_open=bars["open"] * bars["adj_close"] / bars["close"]), "adj_open")


def only_symbols(bars: pd.DataFrame, symbols: Sequence[str] | None) -> pd.DataFrame:
    """The rows of ``symbols`` (all rows when None), index reset."""
    if symbols is None:
        return bars.reset_index(drop=True)
    return bars[bars["symbol"].isin(set(symbols))].reset_index(drop=True)


__all__ = ["PriceProvider", "adjusted_opens", "bars_to_wide", "only_symbols", "wide_to_bars"]
