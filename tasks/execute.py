"""Execution: send the committed plan exactly once -> datasets ``executions`` and ``account``."""

from __future__ import annotations

import pandas as pd
from prefect import task

from momentum.brokers import make_broker
from momentum.execution import Guards, execute_plan, reconcile
from momentum.settings import Settings
from momentum.store import DatasetRef
from tasks.common import RETRY, STAGE, current_flow_run_id, only_transient, open_store
from tasks.plan import closes_at

KILL_SWITCH = "KILL_SWITCH"


def guards(settings: Settings, kill_marker: bool) -> Guards:
    return Guards(
        max_order_notional=settings.max_order_notional, max_rebalance_notional=settings.max_rebalance_notional,
        price_band=settings.price_band, kill_switch=settings.kill_switch or kill_marker,
        queue_when_closed=settings.queue_when_closed, fill_timeout_seconds=settings.fill_timeout_seconds,
    )


@task(name="execute", retry_condition_fn=only_transient, **RETRY, **STAGE)
def execute(settings: Settings, orders_ref: DatasetRef, bars_ref: DatasetRef, live: bool = False) -> DatasetRef:
    """Guards, then sells, then buys; every order's outcome -> dataset ``executions``."""
    store = open_store(settings)
    prices = closes_at(store, bars_ref)
    broker = make_broker(settings, store, as_of=orders_ref.as_of, prices=prices, live_opt_in=live,
                         flow_run_id=current_flow_run_id())
    outcomes = execute_plan(store.read(orders_ref), broker, guards(settings, store.marker_exists(KILL_SWITCH)), prices)
    return store.write("executions", orders_ref.as_of, outcomes, inputs={"orders": orders_ref},
                       params={"broker": settings.broker}, flow_run_id=current_flow_run_id(), content_addressed=True)


@task(name="account", retry_condition_fn=only_transient, **RETRY, **STAGE)
def snapshot_account(
    settings: Settings, orders_ref: DatasetRef, executions_ref: DatasetRef, bars_ref: DatasetRef, live: bool = False,
) -> DatasetRef:
    """Positions and cash after execution, marked at the as_of close and reconciled with the plan."""
    store = open_store(settings)
    prices = closes_at(store, bars_ref)
    broker = make_broker(settings, store, as_of=orders_ref.as_of, prices=prices, live_opt_in=live)
    positions = {p.symbol: p.qty for p in broker.positions()}
    market_value = {p.symbol: p.market_value for p in broker.positions()}
    gaps = reconcile(store.read(orders_ref), positions).set_index("symbol")["difference"]
    cash = broker.account().cash
    frame = pd.DataFrame({
        "symbol": [*sorted(positions), "$CASH"],
        "qty": [*(positions[s] for s in sorted(positions)), cash],
        "market_value": [*(market_value[s] for s in sorted(positions)), cash],
    })
    frame["plan_difference"] = frame["symbol"].map(gaps).fillna(0.0).astype(float)
    return store.write("account", orders_ref.as_of, frame, inputs={"executions": executions_ref},
                       params={"broker": settings.broker}, flow_run_id=current_flow_run_id(), content_addressed=True)
