"""The rebalance flow: ingest -> validate -> score -> plan -> execute -> account -> summary.

A scheduled run (``only_on_schedule``) scores ``as_of`` every day and executes the rebalance it owes:
the one of the latest signal session on or before ``as_of`` not executed yet (see
:mod:`momentum.run`), scored and planned at that signal session, so a missed or failed rebalance
is caught up by the next run and executed once.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from momentum.run import RunRefs, ScoredRefs
from momentum.settings import Settings, flow_timeout_seconds
from tasks.catchup import due_rebalance
from tasks.execute import execute, fill_in_shortfall, snapshot_account
from tasks.ingest import ingest, ingest_benchmark, resolve_as_of
from tasks.plan import plan
from tasks.score import score
from tasks.summary import run_outcome, summarize
from tasks.validate import validate


def scored(settings: Settings, day: str, live: bool = False) -> ScoredRefs:
    """ingest, ingest-benchmark, validate, score at ``day`` (composition only)."""
    bars, benchmark = ingest(settings, day, live), ingest_benchmark(settings, day)
    validation = validate(settings, bars, benchmark)
    return ScoredRefs(bars, benchmark, validation, score(settings, bars, validation, benchmark))


@flow(name="rebalance", log_prints=True, timeout_seconds=flow_timeout_seconds())
def rebalance(
    as_of: str | None = None,
    store_url: str | None = None,
    provider: Literal["embedded", "synthetic", "alpaca", "files"] | None = None,
    strategy: Literal["qmom", "momentum"] | None = None,
    broker: Literal["paper", "alpaca"] | None = None,
    only_on_schedule: bool | None = None,
    order_timing: Literal["close", "open", "market"] | None = None,
    live: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict:
    """One run at ``as_of`` (default: the provider's last session); returns the run summary, or ends
    Failed (with the summary as its data) when orders were left rejected, unfilled or not sent.

    Parameters left empty come from ``MOMENTUM_*`` settings; ``overrides`` sets any other setting.
    ``live`` is the explicit live-trading opt-in (also needs MOMENTUM_LIVE_TRADING=true).
    ``only_on_schedule`` executes only the owed rebalance of the latest signal session (catch-up).
    ``order_timing``: close (the trade session's closing auction, the default), open, or market.
    """
    settings = Settings().with_overrides(
        overrides,
        store_url=store_url,
        provider=provider,
        strategy=strategy,
        broker=broker,
        only_on_schedule=only_on_schedule,
        order_timing=order_timing,
    )
    day = resolve_as_of(settings, as_of)
    refs = RunRefs(scored(settings, day, live))
    signal = due_rebalance(settings, day)
    if signal is not None:
        trade, market = refs.scored if signal == day else scored(settings, signal, live), refs.scored.bars
        orders = plan(settings, trade.scores, trade.bars, live, market)
        executions = execute(settings, orders, trade.bars, live, market)
        account = snapshot_account(settings, orders, trade.bars, live, market, wait_for=[executions])
        refs = RunRefs(refs.scored, None if signal == day else trade, orders, executions, account)
    else:
        fill_in_shortfall(settings, refs.scored.bars)
    # A returned Failed state becomes the run's final state and its data (the summary) the run's result,
    # so callers get a dict either way.
    return run_outcome(summarize(settings, refs))  # type: ignore[return-value]
