"""The run summary: what a run read, decided and did, as one JSON-able dict (CLI, artifacts, --json)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from momentum.calendar import is_signal_session, next_signal_session
from momentum.membership_freshness import membership_freshness
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore
from momentum.validation import quarantined_symbols

TOP_N = 10


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return [{k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in row.items()}
            for row in out.to_dict(orient="records")]


def execution_headline(executions: pd.DataFrame) -> dict[str, Any]:
    """How many orders need attention (not filled), how many are still pending, and the first problem."""
    problems = executions[executions["status"] != "filled"]
    return {"orders": len(executions), "filled": int((executions["status"] == "filled").sum()),
            "attention": len(problems), "pending": int(executions["pending"].sum()),
            "headline": str(problems["note"].iloc[0]) if len(problems) else ""}


def run_summary(store: VersionedStore, refs: dict[str, DatasetRef], settings: Settings) -> dict[str, Any]:
    """Everything the CLI prints after a run, keyed for scripts."""
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
    scores = store.read(refs["scores"])
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
