"""What a broker account knows of prices at a session: the adjusted closes (and opens) of every session up
to it, from the ``bars`` dataset."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class SessionPrices:
    """Adjusted prices known at the session ``as_of`` (dollars per share), wide: index sessions (tz-naive
    midnights, ascending, none after ``as_of``), columns symbols, NaN = no bar. ``opens`` is None when
    the bars carry no raw opens and closes to adjust them with."""

    as_of: pd.Timestamp
    closes: pd.DataFrame
    opens: pd.DataFrame | None = None

    @property
    def marks(self) -> pd.Series:
        """symbol -> adjusted close on ``as_of`` (the plan's, the guards' and the account's prices)."""
        if self.as_of not in self.closes.index:
            return pd.Series(dtype="float64")
        return self.closes.loc[self.as_of].dropna()

    def knows(self, session: pd.Timestamp) -> bool:
        """True once ``session``'s prices are known: on or before ``as_of`` and in the bars."""
        return (
            session <= self.as_of
            and session in self.closes.index
            and bool(self.closes.loc[session].notna().any())
        )

    def auction(self, session: pd.Timestamp, price: str) -> pd.Series:
        """symbol -> the adjusted ``close`` or ``open`` of ``session`` (NaN: no price that session)."""
        table = self.closes if price == "close" else self.opens
        if table is None:
            raise ValueError("the bars have no opening prices (columns open and close)")
        if session not in table.index:
            return pd.Series(float("nan"), index=self.closes.columns)
        return table.loc[session]

    def last_close(self, session: pd.Timestamp) -> pd.Series:
        """symbol -> the last adjusted close on or before ``session`` (a name without a bar that day)."""
        known = self.closes.loc[:session]
        return known.ffill().iloc[-1] if len(known) else pd.Series(float("nan"), index=self.closes.columns)


def closes_only(as_of: str, marks: pd.Series) -> SessionPrices:
    """The prices of an account that knows only the ``as_of`` closes ``marks`` (symbol -> dollars)."""
    day = pd.Timestamp(as_of)
    return SessionPrices(day, pd.DataFrame([marks.astype("float64")], index=pd.DatetimeIndex([day])))


def session_prices(bars: pd.DataFrame, as_of: str) -> SessionPrices:
    """The prices known at ``as_of`` from long ``bars`` (``date``, ``symbol``, ``adj_close``, and
    optionally raw ``open`` and ``close``: the adjusted open is open x adj_close / close)."""
    day = pd.Timestamp(as_of)
    known = bars[bars["date"] <= day]
    closes = known.pivot(index="date", columns="symbol", values="adj_close")
    opens = None
    if {"open", "close"} <= set(known.columns) and known["open"].notna().any():
        adjusted = known.assign(adj_open=known["open"] * known["adj_close"] / known["close"])
        opens = adjusted.pivot(index="date", columns="symbol", values="adj_open")
        opens = opens.reindex(index=closes.index, columns=closes.columns)
    return SessionPrices(day, closes.sort_index(), None if opens is None else opens.sort_index())
