"""How fresh the S&P 500 membership data is, and whether a run at ``as_of`` may trade on it.

The membership comes from the ``index-constitution`` package, whose data ends on a known date (the
latest change it records). For an ``as_of`` after that date the run uses the latest known membership and
says so; more than :data:`MAX_STALE_DAYS` calendar days after it the run refuses to trade.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import index_constitution as ic
import pandas as pd

from momentum.errors import PermanentError

MAX_STALE_DAYS = 120  # calendar days past the membership data's end before a run refuses to trade
HOW_TO_UPDATE = "pip install -U index-constitution, or set universe=file with your own member list"


class MembershipTooOld(PermanentError):
    """The membership data ends too long before as_of to pick today's universe: the run refuses to
    trade, naming the data's last date and how to update it."""


@dataclass(frozen=True)
class Freshness:
    """``membership_as_of``: the date the membership is known at; ``warning``: text for the summary."""

    membership_as_of: str
    warning: str | None


@lru_cache(maxsize=1)
def membership_data_end() -> pd.Timestamp:
    """The last date the installed index-constitution S&P 500 data knows (latest join, exit or event)."""
    history = ic.history("sp500")
    events = ic.events(index="sp500")
    dates = pd.concat(
        [
            pd.to_datetime(history["opt-in"]),
            pd.to_datetime(history["opt-out"]),
            pd.to_datetime(events["event_date"]),
        ]
    )
    return pd.Timestamp(dates.max()).normalize()


def membership_freshness(as_of: pd.Timestamp, data_end: pd.Timestamp | None = None) -> Freshness:
    """The membership date used at ``as_of``; raises :class:`MembershipTooOld` past the limit."""
    day, end = pd.Timestamp(as_of).normalize(), pd.Timestamp(data_end or membership_data_end())
    if day <= end:
        return Freshness(f"{day:%Y-%m-%d}", None)
    age = (day - end).days
    if age > MAX_STALE_DAYS:
        raise MembershipTooOld(
            f"S&P 500 membership data ends {end:%Y-%m-%d}, {age} days before as_of {day:%Y-%m-%d} (limit "
            f"{MAX_STALE_DAYS} days): refusing to trade on it; update it ({HOW_TO_UPDATE})"
        )
    return Freshness(
        f"{end:%Y-%m-%d}",
        f"S&P 500 membership as of {end:%Y-%m-%d} (the data's last date, {age} days "
        f"before as_of); after {MAX_STALE_DAYS} days the run refuses to trade: "
        f"{HOW_TO_UPDATE}",
    )
