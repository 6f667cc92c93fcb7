"""Execution: send the committed plan exactly once -> datasets ``executions`` and ``account``.

Neither task is cached: each run asks the broker again (every order is looked up by its
``client_order_id`` before any submit), so a re-run after a crash, a blocked sell or a closed market
finishes the rebalance without sending anything twice. Identical observations commit no new version
(the datasets are content-addressed).

Retries: one layer, the broker adapter (it retries its own HTTP calls and raises a PermanentError once
they are spent); neither task is retried by Prefect. A failed run is re-run, and finds what was sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE

from momentum import definitions
from momentum.brokers.base import OrderState
from momentum.execution import execute_plan, reconcile
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore
from tasks.common import current_flow_run_id, open_store
from tasks.plan import closes_at

KILL_SWITCH = "KILL_SWITCH"
KILL_CHECK_SECONDS = 1.0  # how often an order loop looks at the store's KILL_SWITCH marker


def kill_check(
    settings: Settings,
    store: VersionedStore,
    every_seconds: float = KILL_CHECK_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], bool]:
    """Asked before every order: the kill switch setting, or the store's marker looked up at most once
    every ``every_seconds`` (one GET a second, not one per order); once seen engaged it stays engaged.
    The guards have just looked at the marker when the first order is sent."""
    seen = {"at": clock(), "engaged": False}

    def engaged() -> bool:
        if settings.kill_switch or seen["engaged"]:
            return True
        if clock() - seen["at"] >= every_seconds:
            seen["at"], seen["engaged"] = clock(), store.marker_exists(KILL_SWITCH)
        return seen["engaged"]

    return engaged


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value).replace("|", "/")


def report_markdown(outcomes: pd.DataFrame, gaps: pd.DataFrame, as_of: str, broker: str) -> str:
    """The execution report: one line per order, then the positions that differ from the plan."""
    counts = outcomes["status"].value_counts().to_dict()
    head = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines = [f"**Execution of the {as_of} rebalance ({broker} broker): {head or 'no orders'}**", ""]
    attention = outcomes[outcomes["status"] != OrderState.FILLED]
    if len(attention):
        lines += [f"**{len(attention)} order(s) need attention** (see the notes).", ""]
    lines += [
        "| client_order_id | side | symbol | qty | status | filled | price | action | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in outcomes.itertuples(index=False):
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    r.client_order_id,
                    r.side,
                    r.symbol,
                    r.qty,
                    r.status,
                    r.filled_qty,
                    r.filled_avg_price,
                    r.action,
                    r.note,
                )
            )
            + " |"
        )
    lines += ["", "**Positions against the plan:** " + ("all planned positions match." if gaps.empty else "")]
    if len(gaps):
        lines += ["", "| symbol | target_qty | broker_qty | difference |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in gaps.itertuples(index=False)]
    return "\n".join(lines)


def _warn_gaps(warn: Callable[..., None], gaps: pd.DataFrame) -> None:
    """One warning listing every position that differs from the plan (broker vs target quantity)."""
    if len(gaps):
        warn(
            "positions differ from the plan: %s",
            ", ".join(
                f"{r.symbol} {r.broker_qty:g} vs {r.target_qty:g}" for r in gaps.itertuples(index=False)
            ),
        )


@task(name="execute", cache_policy=NO_CACHE)
def execute(
    settings: Settings, orders_ref: DatasetRef, bars_ref: DatasetRef, live: bool = False
) -> DatasetRef:
    """Guards, market clock, sells, buys; every order's outcome -> dataset ``executions``.

    A broker that stays unreachable past the adapter's retries, a guard (kill switch, limits, price band,
    live opt-in): the task fails in one line and is not retried; a re-run finds the orders already sent
    by their ids.
    """
    logger = get_run_logger()
    store = open_store(settings)
    prices = closes_at(store, bars_ref)
    broker = definitions.broker(
        settings, as_of=orders_ref.as_of, prices=prices, live_opt_in=live, flow_run_id=current_flow_run_id()
    )
    plan = store.read(orders_ref)
    with store.lease(definitions.rebalance_lease(settings, orders_ref.as_of, current_flow_run_id())):
        outcomes = execute_plan(
            plan,
            broker,
            definitions.guards(settings, store.marker_exists(KILL_SWITCH)),
            prices,
            kill_check=kill_check(settings, store),
            log=logger.warning,
        )
        gaps = reconcile(plan, {p.symbol: p.qty for p in broker.positions()})
    _warn_gaps(logger.warning, gaps)
    create_markdown_artifact(
        report_markdown(outcomes, gaps, orders_ref.as_of, settings.broker),
        key="execution-report",
        description=f"orders of the {orders_ref.as_of} rebalance",
    )
    return store.write(
        "executions",
        orders_ref.as_of,
        outcomes,
        inputs={"orders": orders_ref},
        params={"broker": settings.broker},
        flow_run_id=current_flow_run_id(),
        content_addressed=True,
    )


@task(name="account", cache_policy=NO_CACHE)
def snapshot_account(
    settings: Settings,
    orders_ref: DatasetRef,
    executions_ref: DatasetRef,
    bars_ref: DatasetRef,
    live: bool = False,
) -> DatasetRef:
    """Positions and cash after execution, marked at the as_of close and reconciled with the plan.

    Keyed by the plan (content-addressed): the same account after a re-run is the same version.
    """
    store = open_store(settings)
    prices = closes_at(store, bars_ref)
    broker = definitions.broker(settings, as_of=orders_ref.as_of, prices=prices, live_opt_in=live)
    held = broker.positions()
    positions = {p.symbol: p.qty for p in held}
    market_value = {p.symbol: p.market_value for p in held}
    gaps = reconcile(store.read(orders_ref), positions).set_index("symbol")["difference"]
    cash = broker.account().cash
    symbols = sorted(set(positions) | set(gaps.index))
    frame = pd.DataFrame(
        {
            "symbol": [*symbols, "$CASH"],
            "qty": [*(positions.get(s, 0.0) for s in symbols), cash],
            "market_value": [*(market_value.get(s, 0.0) for s in symbols), cash],
        }
    )
    frame["plan_difference"] = frame["symbol"].map(gaps).fillna(0.0).astype(float)
    return store.write(
        "account",
        orders_ref.as_of,
        frame,
        inputs={"orders": orders_ref},
        params={"broker": settings.broker},
        flow_run_id=current_flow_run_id(),
        content_addressed=True,
    )
