"""The run summary: what a run read, decided and did, as one JSON-able dict (CLI, artifacts, --json)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from momentum.calendar import is_signal_session, next_signal_session
from momentum.membership_freshness import membership_freshness
from momentum.records import json_records as _records
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore
from momentum.validation import quarantined_symbols

TOP_N = 10


def execution_headline(executions: pd.DataFrame) -> dict[str, Any]:
    """Each order counted once: filled, rejected, pending (sent, still open at the broker), not sent
    (never posted: blocked, market closed, kill switch), canceled (canceled or expired); ``attention``
    is every order not filled, ``headline`` the first one's reason."""
    status, sent = executions["status"], executions["action"] != "none"
    problems = executions[status != "filled"]
    return {"orders": len(executions), "filled": int((status == "filled").sum()),
            "attention": len(problems), "pending": int((executions["pending"] & sent).sum()),
            "rejected": int((status == "rejected").sum()), "not_sent": int((~sent & (status != "filled")).sum()),
            "canceled": int(status.isin(["canceled", "expired"]).sum()),
            "headline": str(problems["note"].iloc[0]) if len(problems) else ""}


def attention_line(execution: dict[str, Any]) -> str:
    """``4 of 6 orders not filled (4 rejected, 0 pending, 2 not sent)``: the counts that are not zero."""
    parts = [f"{execution[k]} {label}" for k, label in (("rejected", "rejected"), ("pending", "pending"),
                                                          ("not_sent", "not sent"), ("canceled", "canceled"))
             if execution[k]]
    return f"{execution['attention']} of {execution['orders']} orders not filled ({', '.join(parts)})"


def run_summary(store: VersionedStore, refs: dict[str, DatasetRef], settings: Settings) -> dict[str, Any]:
    """Everything the CLI prints after a run, keyed for scripts. Ranking, target portfolio and orders are
    those of the rebalance executed: the signal session's when the run caught one up."""
    as_of = refs["bars"].as_of
    bars = store.read(refs["bars"], columns=["date", "symbol"])
    validation = store.read(refs["validation"])
    summary: dict[str, Any] = {
        "as_of": as_of,
        "provider": settings.provider,
        "store": store.url,
        "broker": settings.broker,
        "data": {"start": f"{bars['date'].min():%Y-%m-%d}", "end": f"{bars['date'].max():%Y-%m-%d}",
                 "symbols": int(bars["symbol"].nunique()), "rows": len(bars)},
        "validation": {"passed": True, "quarantined": quarantined_symbols(validation),
                       "warnings": int(((validation["severity"] == "warning") & (validation["status"] != "passed") & (validation["symbol"] == "")).sum())},
        "rebalance": {"is_signal_session": is_signal_session(as_of, settings.rebalance_months),
                      "next_signal_session": f"{next_signal_session(as_of, settings.rebalance_months):%Y-%m-%d}",
                      "executed": "executions" in refs},
        "datasets": {name: {"version": ref.version, "as_of": ref.as_of, "path": store.manifest(ref).path}
                     for name, ref in refs.items()},
    }
    membership_as_of = store.manifest(refs["scores"]).params.get("membership_as_of")
    warning = membership_freshness(pd.Timestamp(as_of)).warning if membership_as_of not in (None, as_of) else None
    summary["warnings"] = [warning] if warning else []
    if "orders" in refs:
        summary["rebalance"] |= {"signal_session": refs["orders"].as_of, "caught_up": refs["orders"].as_of != as_of}
    scores = store.read(refs.get("signal_scores", refs["scores"]))  # a caught-up rebalance shows what it traded
    ranked = scores.sort_values(["momentum", "symbol"], ascending=[False, True], na_position="last")
    summary["ranking"] = _records(ranked.head(TOP_N)[["symbol", "momentum", "fip", "eligible", "selected", "reason"]])
    summary["target_portfolio"] = _records(scores[scores["weight"] > 0][["symbol", "weight"]])
    if "orders" in refs:
        summary["orders"] = _records(store.read(refs["orders"])[["client_order_id", "symbol", "side", "qty", "ref_price", "est_value"]])
    if "executions" in refs:
        executions = store.read(refs["executions"])
        summary["fills"] = _records(executions)
        summary["execution"] = execution_headline(executions)
    if "account" in refs:
        account = store.read(refs["account"])
        cash = float(account.loc[account["symbol"] == "$CASH", "market_value"].sum())
        summary["account"] = {"value": float(account["market_value"].sum()), "cash": cash,
                              "positions": _records(account[account["symbol"] != "$CASH"]),
                              "plan_differences": _records(account[account["plan_difference"] != 0])}
    return summary
