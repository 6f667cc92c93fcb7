"""Catch-up of scheduled rebalances: a rebalance is keyed by its signal session and executed once.

A scheduled (``only_on_schedule``) run at ``as_of`` owes the rebalance of the latest signal session
on or before ``as_of`` unless it has been executed. "Executed" means the store holds an
``executions`` version at that signal session or later with no pending order: ``executions`` is
written at its order plan's as_of, which is the signal session the plan was scored at, after the
broker answered for every order. A rebalance executed later (for example a manual one) supersedes
an older signal: the account has moved on, so an older plan is never sent after it. A run that
failed before ``executions`` was committed (kill switch, broker down, validation) leaves the
rebalance owed, so the next run (or a retry) executes it; the plan itself is reused once committed
and every order carries a deterministic ``client_order_id``, so nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from momentum.calendar import CALENDAR_START, DEFAULT_MONTHS, signal_sessions
from momentum.store import VersionedStore

EXECUTIONS = "executions"


def latest_signal_session(as_of: object, months: Iterable[int] = DEFAULT_MONTHS) -> str | None:
    """The last signal session on or before ``as_of`` (YYYY-MM-DD), or None before the first one."""
    found = signal_sessions(CALENDAR_START, as_of, months)
    return f"{found[-1]:%Y-%m-%d}" if len(found) else None


def is_executed(store: VersionedStore, signal_session: str) -> bool:
    """True when the rebalance of ``signal_session`` (or a later one) has been executed in full.

    The latest ``executions`` version at or after the session decides: while any of its orders is
    still pending (not sent because the market was closed, blocked by an unfilled sell, not final
    within the timeout) the rebalance stays owed, so the next run sends or checks what is left.
    """
    day = pd.Timestamp(signal_session).strftime("%Y-%m-%d")
    latest = store.latest(EXECUTIONS)  # the newest version decides, so no listing of every version
    if latest is None or latest.as_of < day:
        return False
    return not store.read(latest.ref, columns=["pending"])["pending"].any()


def owed_rebalance(
    store: VersionedStore, as_of: object, months: Iterable[int] = DEFAULT_MONTHS
) -> str | None:
    """The signal session whose rebalance a scheduled run at ``as_of`` must execute, or None."""
    signal = latest_signal_session(as_of, months)
    if signal is None or is_executed(store, signal):
        return None
    return signal
