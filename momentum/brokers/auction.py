"""When an auction order is accepted, and which session's auction fills it (Alpaca's rules).

``order_timing`` names the price a rebalance trades at: ``close`` (the trade session's closing auction,
Alpaca ``time_in_force=cls``), ``open`` (its opening auction, ``opg``) or ``market`` (a ``day`` market
order: at once while the market is open, else queued for the next open).

Alpaca refuses ``cls`` orders from 10 minutes before a session's close (15:50 ET, 12:50 on an early-close
day) until 19:00 ET, and ``opg`` orders from 09:28 until 19:00 ET; an order sent after 19:00 (or on a day
without a session) queues for the next session's auction, one sent earlier on a session day for that
day's. On-close and on-open orders are whole shares only. All times are instants (tz-aware, or naive
read as UTC); sessions are tz-naive midnights as in :mod:`momentum.calendar`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pandas as pd

from momentum.calendar import is_session, next_session, session_close

OrderTiming = Literal["close", "open", "market"]
ORDER_TIMINGS: tuple[str, ...] = ("close", "open", "market")
TIME_IN_FORCE: dict[str, str] = {"close": "cls", "open": "opg", "market": "day"}
AUCTION = {"cls": "close", "opg": "open"}
NEW_YORK = "America/New_York"
REOPEN = pd.Timedelta(hours=19)  # both auction windows reopen at 19:00 ET for the next session
CLS_CUTOFF = pd.Timedelta(minutes=10)  # cls refused from this long before the close
OPG_CUTOFF = pd.Timedelta(hours=9, minutes=28)  # opg refused from 09:28 ET


@dataclass(frozen=True)
class AuctionSlot:
    """What happens to a ``time_in_force`` (``cls``/``opg``) order sent at ``at``: ``accepted`` and queued
    for the auction of ``session``, or refused until ``reopens`` (then queued for ``session``)."""

    time_in_force: str
    at: pd.Timestamp
    accepted: bool
    session: pd.Timestamp
    reopens: pd.Timestamp | None = None

    def describe(self) -> str:
        """One line in the trader's words: which auction, and when the window opens if it is shut."""
        auction = f"the {AUCTION[self.time_in_force]} of {self.session:%Y-%m-%d}"
        if self.accepted:
            return f"queued for {auction} ({self.time_in_force} order)"
        assert self.reopens is not None
        return (
            f"the {self.time_in_force} window is shut until {self.reopens:%Y-%m-%d %H:%M} ET "
            f"(Alpaca refuses {self.time_in_force} orders now, {self.at:%H:%M} ET); "
            f"a run after then queues them for {auction}"
        )


def _new_york(at: datetime | pd.Timestamp) -> pd.Timestamp:
    instant = pd.Timestamp(at)
    instant = instant.tz_localize("UTC") if instant.tz is None else instant
    return instant.tz_convert(NEW_YORK)


def auction_slot(time_in_force: str, at: datetime | pd.Timestamp) -> AuctionSlot:
    """The fate of a ``cls`` or ``opg`` order sent at the instant ``at`` (see the module's rules)."""
    if time_in_force not in AUCTION:
        raise ValueError(f"not an auction time_in_force: {time_in_force!r} (cls or opg)")
    now = _new_york(at)
    day = now.tz_localize(None).normalize()
    after_reopen = now - now.normalize() >= REOPEN
    if not is_session(day) or after_reopen:
        return AuctionSlot(time_in_force, now, True, next_session(day))
    cutoff = (
        _new_york(session_close(day)) - CLS_CUTOFF if time_in_force == "cls" else now.normalize() + OPG_CUTOFF
    )
    if now < cutoff:
        return AuctionSlot(time_in_force, now, True, day)
    return AuctionSlot(time_in_force, now, False, next_session(day), now.normalize() + REOPEN)
