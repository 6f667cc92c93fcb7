"""Sending an order plan exactly once: guards, the order loop and the recorded outcomes."""

from __future__ import annotations

from momentum.execution._exactly_once import Action, SendOutcome, send_once
from momentum.execution._guards import GuardError, Guards
from momentum.execution._loop import ExecutionHooks, execute_plan, reconcile
from momentum.execution._outcomes import OUTCOME_COLUMNS

__all__ = [
    "Action",
    "ExecutionHooks",
    "GuardError",
    "Guards",
    "OUTCOME_COLUMNS",
    "SendOutcome",
    "execute_plan",
    "reconcile",
    "send_once",
]
