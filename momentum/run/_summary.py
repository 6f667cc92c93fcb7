"""The run summary: what a run read, decided and did (:class:`momentum.run.RunSummary`)."""

from __future__ import annotations

import pandas as pd

from momentum.brokers.base import OrderState
from momentum.calendar import is_signal_session, next_signal_session
from momentum.execution import Action, rebalance_shortfall
from momentum.records import json_records as _records
from momentum.run._contracts import (
    AccountSummary,
    DatasetInfo,
    DataSpan,
    ExecutionHeadline,
    RebalanceInfo,
    RunRefs,
    RunSummary,
    ValidationOutcome,
)
from momentum.store import VersionedStore
from momentum.universe import membership_freshness
from momentum.validation import quarantined_symbols

TOP_N = 10


def execution_headline(executions: pd.DataFrame) -> ExecutionHeadline:
    """Each order counted once: filled, queued (sent as an auction order, waiting for its auction),
    rejected, pending (sent, still open at the broker), not sent (never posted: blocked, market closed,
    window shut, kill switch), canceled (canceled or expired); ``attention`` is every order neither
    filled nor queued, ``headline`` the first one's reason."""
    status, sent = executions["status"], executions["action"] != Action.NONE
    filled = status == OrderState.FILLED
    auction = executions.get("time_in_force", pd.Series("day", index=executions.index)) != "day"
    queued = auction & executions["pending"] & sent
    problems = executions[~filled & ~queued]
    sessions = sorted(set(executions.get("queued_for", pd.Series(dtype=str))) - {""})
    return ExecutionHeadline(
        orders=len(executions),
        filled=int(filled.sum()),
        attention=len(problems),
        queued=int(queued.sum()),
        queued_for=",".join(sessions),
        pending=int((executions["pending"] & sent & ~queued).sum()),
        rejected=int((status == OrderState.REJECTED).sum()),
        not_sent=int((~sent & ~filled).sum()),
        canceled=int(status.isin([OrderState.CANCELED.value, OrderState.EXPIRED.value]).sum()),
        headline=str(problems["note"].iloc[0]) if len(problems) else "",
    )


def attention_line(execution: ExecutionHeadline) -> str:
    """``4 of 6 orders not filled (4 rejected, 0 pending, 2 not sent)``: the counts that are not zero."""
    parts = [
        f"{count} {label}"
        for count, label in (
            (execution.rejected, "rejected"),
            (execution.pending, "pending"),
            (execution.not_sent, "not sent"),
            (execution.canceled, "canceled"),
        )
        if count
    ]
    return f"{execution.attention} of {execution.orders} orders not filled ({', '.join(parts)})"


def _data_span(store: VersionedStore, refs: RunRefs) -> DataSpan:
    bars = store.read(refs.scored.bars, columns=["date", "symbol"])
    return DataSpan(
        start=f"{bars['date'].min():%Y-%m-%d}",
        end=f"{bars['date'].max():%Y-%m-%d}",
        symbols=int(bars["symbol"].nunique()),
        rows=len(bars),
    )


def _validation(store: VersionedStore, refs: RunRefs) -> ValidationOutcome:
    table = store.read(refs.scored.validation)
    failed_warnings = (
        (table["severity"] == "warning") & (table["status"] != "passed") & (table["symbol"] == "")
    )
    return ValidationOutcome(
        passed=True, quarantined=quarantined_symbols(table), warnings=int(failed_warnings.sum())
    )


def _rebalance(refs: RunRefs, as_of: str, rebalance_months: tuple[int, ...]) -> RebalanceInfo:
    signal = refs.orders.as_of if refs.orders is not None else None
    return RebalanceInfo(
        is_signal_session=is_signal_session(as_of, rebalance_months),
        next_signal_session=f"{next_signal_session(as_of, rebalance_months):%Y-%m-%d}",
        executed=refs.executions is not None,
        signal_session=signal,
        caught_up=None if signal is None else signal != as_of,
    )


def _warnings(store: VersionedStore, refs: RunRefs, as_of: str) -> list[str]:
    membership_as_of = store.manifest(refs.scored.scores).params.get("membership_as_of")
    warning = (
        membership_freshness(pd.Timestamp(as_of)).warning if membership_as_of not in (None, as_of) else None
    )
    return [warning] if warning else []


def _account(store: VersionedStore, refs: RunRefs) -> AccountSummary | None:
    if refs.account is None:
        return None
    account = store.read(refs.account)
    cash = float(account.loc[account["symbol"] == "$CASH", "market_value"].sum())
    return AccountSummary(
        value=float(account["market_value"].sum()),
        cash=cash,
        positions=_records(account[account["symbol"] != "$CASH"]),
        plan_differences=_records(account[account["plan_difference"] != 0]),
    )


def run_summary(
    store: VersionedStore, refs: RunRefs, *, provider: str, broker: str, rebalance_months: tuple[int, ...]
) -> RunSummary:
    """Everything the CLI prints after a run. Ranking, target portfolio and orders are those of the
    rebalance executed: the signal session's when the run caught one up."""
    as_of = refs.scored.bars.as_of
    scores = store.read(refs.traded.scores)
    ranked = scores.sort_values(["momentum", "symbol"], ascending=[False, True], na_position="last")
    order_columns = ["client_order_id", "symbol", "side", "qty", "ref_price", "est_value"]
    executions = store.read(refs.executions) if refs.executions is not None else None
    return RunSummary(
        as_of=as_of,
        provider=provider,
        store=store.url,
        broker=broker,
        data=_data_span(store, refs),
        validation=_validation(store, refs),
        rebalance=_rebalance(refs, as_of, rebalance_months),
        datasets={
            name: DatasetInfo(version=ref.version, as_of=ref.as_of, path=store.manifest(ref).path)
            for name, ref in refs.datasets().items()
        },
        warnings=_warnings(store, refs, as_of),
        ranking=_records(ranked.head(TOP_N)[["symbol", "momentum", "fip", "eligible", "selected", "reason"]]),
        target_portfolio=_records(scores[scores["weight"] > 0][["symbol", "weight"]]),
        orders=None if refs.orders is None else _records(store.read(refs.orders)[order_columns]),
        fills=None if executions is None else _records(executions),
        execution=None if executions is None else execution_headline(executions),
        account=_account(store, refs),
        shortfall=None if executions is None else _shortfall(executions),
    )


def _shortfall(executions: pd.DataFrame) -> dict[str, object] | None:
    """The rebalance's implementation shortfall for ``--json`` (None for executions before it existed)."""
    if "reference_price" not in executions:
        return None
    found = rebalance_shortfall(executions)
    return {"bps": found.bps, "dollars": found.dollars, "reference": found.reference, "note": found.line()}
