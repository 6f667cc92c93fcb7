"""Alpaca's on-close (``cls``) and on-open (``opg``) orders, as the trading stand-in answers them.

The rules, from Alpaca's order documentation (Time in Force): a ``cls`` order sent after 15:50 ET (10
minutes before an early close) and before 19:00 ET is rejected, one sent after 19:00 is queued for the
next session's closing auction; an ``opg`` order sent after 09:28 and before 19:00 ET is rejected, one sent
after 19:00 queued for the next session's opening auction. Fractional and notional orders must be ``day``
orders (every other ``time_in_force`` refuses them). Written here from those sentences, on their own,
so the client's rule (:mod:`momentum.brokers.auction`) is checked against an independent reading, not
against itself.

The refusal bodies are what Alpaca answers (the documentation gives no body; these are the ones its API
has been seen to send, quoted in public trading-bot repositories, 2026): a window refusal is HTTP 403
``{"code": 40310000, "message": "opg orders must be submitted after 7:00pm and before 9:28am"}`` (for
``cls`` the message says "before 3:55pm" although the documentation says 15:50: the stand-in refuses from
15:50, as documented); a fractional or notional one is 422 ``{"code": 42210000, "message": "fractional
orders must be DAY orders"}``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from momentum.calendar import is_session, next_session, session_close

NEW_YORK = ZoneInfo("America/New_York")
AUCTIONS = ("cls", "opg")
FRACTIONAL_REFUSED = (422, {"code": 42210000, "message": "fractional orders must be DAY orders"})
WINDOW_REFUSED = {
    "cls": (
        403,
        {"code": 40310000, "message": "cls orders must be submitted after 7:00pm and before 3:55pm"},
    ),
    "opg": (
        403,
        {"code": 40310000, "message": "opg orders must be submitted after 7:00pm and before 9:28am"},
    ),
}
REOPENS = time(19, 0)
OPG_SHUTS = time(9, 28)
CLS_LEAD = timedelta(minutes=10)  # cls shuts this long before the session's close
OPENS = time(9, 30)


def queued_session(time_in_force: str, at: datetime) -> pd.Timestamp | None:
    """The session whose auction fills a ``cls``/``opg`` order sent at ``at``; None when it is refused."""
    local = at.astimezone(NEW_YORK)
    day = pd.Timestamp(local.date())
    if not is_session(day) or local.time() >= REOPENS:
        return next_session(day)
    if time_in_force == "cls":
        shuts = session_close(day).to_pydatetime().astimezone(NEW_YORK) - CLS_LEAD
    else:
        shuts = datetime.combine(local.date(), OPG_SHUTS, NEW_YORK)
    return day if local < shuts else None


def refusal(time_in_force: str, qty: float | None, at: datetime) -> tuple[int, dict[str, Any]] | None:
    """Alpaca's answer refusing an order sent at ``at`` for its time in force (``qty`` None: a notional
    order): fractional or notional and not ``day``, or ``cls``/``opg`` outside its window; else None."""
    if time_in_force == "day":
        return None
    if qty is None or not float(qty).is_integer():
        return FRACTIONAL_REFUSED
    if time_in_force in AUCTIONS and queued_session(time_in_force, at) is None:
        return WINDOW_REFUSED[time_in_force]
    return None


def clock_at(at: datetime) -> dict[str, Any]:
    """``GET /v2/clock`` at the instant ``at``, from the NYSE calendar (early closes included)."""
    local = at.astimezone(NEW_YORK)
    day = pd.Timestamp(local.date())
    today = is_session(day)
    opens = datetime.combine(local.date(), OPENS, NEW_YORK)
    closes = session_close(day).to_pydatetime().astimezone(NEW_YORK) if today else opens
    is_open = today and opens <= local < closes
    following = next_session(day)
    next_open = opens if today and local < opens else datetime.combine(following.date(), OPENS, NEW_YORK)
    next_close = closes if today and local < closes else session_close(following).to_pydatetime()
    return {
        "timestamp": local.isoformat(),
        "is_open": is_open,
        "next_open": next_open.isoformat(),
        "next_close": next_close.astimezone(NEW_YORK).isoformat(),
    }


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def evening(now: datetime | None = None) -> datetime:
    """19:30 New York time on ``now``'s New York date (default: today): when the daily deployment runs,
    after both auction windows reopen. A stand-in stopped there accepts on-close orders whatever the hour
    the tests run at (between 15:50 and 19:00 ET it would refuse them, as Alpaca does)."""
    day = (now or utc_now()).astimezone(NEW_YORK).date()
    return datetime.combine(day, time(19, 30), tzinfo=NEW_YORK)
