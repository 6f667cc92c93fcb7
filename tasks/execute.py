"""Execution: send the committed plan exactly once -> datasets ``executions`` and ``account``.

Neither task is cached: each run asks the broker again (every order is looked up by its
``client_order_id`` before any submit), so a re-run after a crash, a blocked sell or a closed market
finishes the rebalance without sending anything twice. Identical observations commit no new version
(the datasets are content-addressed).

Retries: one layer, the broker adapter (it retries its own HTTP calls and raises a PermanentError once
they are spent); neither task is retried by Prefect. A failed run is re-run, and finds what was sent.
"""

from __future__ import annotations

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE

from momentum import definitions
from momentum.execution import (
    ExecutionHooks,
    account_snapshot,
    backtest_reference,
    execute_plan,
    execution_report,
    gaps_line,
    missing_reference,
    rebalance_shortfall,
    reconcile,
    with_new_fills,
)
from momentum.portfolio import SessionPrices
from momentum.settings import Settings
from momentum.store import DatasetRef
from tasks.common import current_flow_run_id
from tasks.plan import prices_at


def _market(settings: Settings, bars_ref: DatasetRef, market_ref: DatasetRef | None) -> SessionPrices:
    """The prices known on the run's session (``market_ref``, default the plan's ``bars_ref``)."""
    return prices_at(definitions.resources(settings).store, market_ref or bars_ref)


def referenced(
    settings: Settings, executions: pd.DataFrame, signal: str, market: SessionPrices
) -> pd.DataFrame:
    """``executions`` with the backtest's price for each order once ``market`` knows it."""
    return backtest_reference(executions, signal, settings.trade_offset, settings.order_timing, market)


@task(name="execute", cache_policy=NO_CACHE)
def execute(
    settings: Settings,
    orders_ref: DatasetRef,
    bars_ref: DatasetRef,
    live: bool = False,
    market_ref: DatasetRef | None = None,
) -> DatasetRef:
    """Guards, market clock, sells, buys; every order's outcome, with the backtest's price for it once
    known -> dataset ``executions``. The broker is the account on the run's session (``market_ref``).

    A broker that stays unreachable past the adapter's retries, a guard (kill switch, limits, price band,
    live opt-in): the task fails in one line and is not retried; a re-run finds the orders already sent
    by their ids.
    """
    logger, res, as_of = get_run_logger(), definitions.resources(settings), orders_ref.as_of
    market = _market(settings, bars_ref, market_ref)
    broker = res.broker(f"{market.as_of:%Y-%m-%d}", market, live, current_flow_run_id())
    plan = res.store.read(orders_ref)
    with res.store.lease(definitions.rebalance_lease(settings, as_of, current_flow_run_id())):
        outcomes = execute_plan(
            plan,
            broker,
            res.guards,
            market.marks,
            ExecutionHooks(kill_switch=res.kill_switch(), log=logger.warning),
        )
        gaps = reconcile(plan, {p.symbol: p.qty for p in broker.positions()})
    previous = res.store.latest("executions")
    before = res.store.read(previous.ref) if previous is not None and previous.as_of == as_of else None
    outcomes = with_new_fills(referenced(settings, outcomes, as_of, market), before)
    if (differ := gaps_line(gaps)) is not None and not outcomes["queued_for"].any():
        logger.warning(differ)
    _report(execution_report(outcomes, gaps, as_of, settings.broker), as_of)
    return res.store.write(
        "executions",
        as_of,
        outcomes,
        inputs={"orders": orders_ref},
        params={"broker": settings.broker},
        flow_run_id=current_flow_run_id(),
        content_addressed=True,
    )


def _report(markdown: str, as_of: str) -> None:
    """The execution report artifact of the ``as_of`` rebalance (a new version each time)."""
    create_markdown_artifact(markdown, key="execution-report", description=f"orders of the {as_of} rebalance")


@task(name="account", cache_policy=NO_CACHE)
def snapshot_account(
    settings: Settings,
    orders_ref: DatasetRef,
    bars_ref: DatasetRef,
    live: bool = False,
    market_ref: DatasetRef | None = None,
) -> DatasetRef:
    """Positions and cash after execution (the flow runs it once ``execute`` is done), marked at the
    run session's closes (``market_ref``) and reconciled with the plan.

    Keyed by the plan (content-addressed): the same account after a re-run is the same version.
    """
    res, as_of = definitions.resources(settings), orders_ref.as_of
    market = _market(settings, bars_ref, market_ref)
    broker = res.broker(f"{market.as_of:%Y-%m-%d}", market, live)
    frame = account_snapshot(res.store.read(orders_ref), broker.positions(), broker.account().cash)
    return res.store.write(
        "account",
        as_of,
        frame,
        inputs={"orders": orders_ref},
        params={"broker": settings.broker},
        flow_run_id=current_flow_run_id(),
        content_addressed=True,
    )


@task(name="shortfall", cache_policy=NO_CACHE)
def fill_in_shortfall(settings: Settings, bars_ref: DatasetRef) -> DatasetRef | None:
    """The latest rebalance's reference prices and shortfall, filled in once the run's session
    (``bars_ref``) knows its trade session's prices (a market order filled before them): a new version
    of its ``executions``, the same rows otherwise. None when nothing was missing or is known yet."""
    store = definitions.resources(settings).store
    latest = store.latest("executions")
    if latest is None or not missing_reference(executions := store.read(latest.ref)):
        return None
    done = referenced(settings, executions, latest.as_of, prices_at(store, bars_ref))
    if missing_reference(done):
        return None
    get_run_logger().info(f"rebalance of {latest.as_of}: {rebalance_shortfall(done).line()}")
    _report(execution_report(done, None, latest.as_of, settings.broker), latest.as_of)
    return store.write(
        "executions",
        latest.as_of,
        done,
        inputs=latest.inputs,
        params=latest.params,
        flow_run_id=current_flow_run_id(),
        content_addressed=True,
    )
