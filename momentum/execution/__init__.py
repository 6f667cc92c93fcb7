"""Sending an order plan exactly once: guards, the kill switch, the order loop, the recorded outcomes,
the execution report and the account snapshot."""

from __future__ import annotations

from momentum.execution._account import CASH, account_snapshot
from momentum.execution._exactly_once import Action, SendOutcome, send_once
from momentum.execution._guards import GuardError, Guards
from momentum.execution._kill_switch import KillSwitch, Markers
from momentum.execution._loop import ExecutionHooks, execute_plan, reconcile
from momentum.execution._outcomes import OUTCOME_COLUMNS, with_new_fills
from momentum.execution._report import execution_report, gaps_line
from momentum.execution._shortfall import (
    SHORTFALL_COLUMNS,
    Shortfall,
    backtest_reference,
    missing_reference,
    rebalance_shortfall,
    with_reference,
)

__all__ = [
    "Action",
    "ExecutionHooks",
    "GuardError",
    "Guards",
    "OUTCOME_COLUMNS",
    "SHORTFALL_COLUMNS",
    "SendOutcome",
    "Shortfall",
    "execute_plan",
    "CASH",
    "KillSwitch",
    "Markers",
    "account_snapshot",
    "backtest_reference",
    "execution_report",
    "gaps_line",
    "missing_reference",
    "rebalance_shortfall",
    "with_new_fills",
    "with_reference",
    "reconcile",
    "send_once",
]
