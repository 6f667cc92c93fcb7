"""Execution: send the committed plan exactly once -> datasets ``executions`` and ``account``.

Neither task is cached: each run asks the broker again (every order is looked up by its
``client_order_id`` before any submit), so a re-run after a crash, a blocked sell or a closed market
finishes the rebalance without sending anything twice. Identical observations commit no new version
(the datasets are content-addressed).

Retries: one layer, the broker adapter (it retries its own HTTP calls and raises a PermanentError once
they are spent); neither task is retried by Prefect. A failed run is re-run, and finds what was sent.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE

from momentum import definitions
from momentum.execution import (
    ExecutionHooks,
    account_snapshot,
    execute_plan,
    execution_report,
    gaps_line,
    reconcile,
)
from momentum.settings import Settings
from momentum.store import DatasetRef
from tasks.common import current_flow_run_id
from tasks.plan import closes_at


@task(name="execute", cache_policy=NO_CACHE)
def execute(
    settings: Settings, orders_ref: DatasetRef, bars_ref: DatasetRef, live: bool = False
) -> DatasetRef:
    """Guards, market clock, sells, buys; every order's outcome -> dataset ``executions``.

    A broker that stays unreachable past the adapter's retries, a guard (kill switch, limits, price band,
    live opt-in): the task fails in one line and is not retried; a re-run finds the orders already sent
    by their ids.
    """
    logger, res, as_of = get_run_logger(), definitions.resources(settings), orders_ref.as_of
    prices = closes_at(res.store, bars_ref)
    broker = res.broker(as_of, prices, live, current_flow_run_id())
    plan = res.store.read(orders_ref)
    with res.store.lease(definitions.rebalance_lease(settings, as_of, current_flow_run_id())):
        outcomes = execute_plan(
            plan,
            broker,
            res.guards,
            prices,
            ExecutionHooks(kill_switch=res.kill_switch(), log=logger.warning),
        )
        gaps = reconcile(plan, {p.symbol: p.qty for p in broker.positions()})
    if (differ := gaps_line(gaps)) is not None:
        logger.warning(differ)
    create_markdown_artifact(
        execution_report(outcomes, gaps, as_of, settings.broker),
        key="execution-report",
        description=f"orders of the {as_of} rebalance",
    )
    return res.store.write(
        "executions",
        as_of,
        outcomes,
        inputs={"orders": orders_ref},
        params={"broker": settings.broker},
        flow_run_id=current_flow_run_id(),
        content_addressed=True,
    )


@task(name="account", cache_policy=NO_CACHE)
def snapshot_account(
    settings: Settings, orders_ref: DatasetRef, bars_ref: DatasetRef, live: bool = False
) -> DatasetRef:
    """Positions and cash after execution (the flow runs it once ``execute`` is done), marked at the
    as_of close and reconciled with the plan.

    Keyed by the plan (content-addressed): the same account after a re-run is the same version.
    """
    res, as_of = definitions.resources(settings), orders_ref.as_of
    broker = res.broker(as_of, closes_at(res.store, bars_ref), live)
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
