"""Order planning: target weights against the broker's positions -> dataset ``orders`` (persisted first)."""

from __future__ import annotations

import pandas as pd
from prefect import task

from momentum import definitions
from momentum.errors import PermanentError
from momentum.portfolio import plan_orders
from momentum.settings import Settings
from momentum.store import DatasetRef
from momentum.strategy import target_weights
from tasks.common import RETRY, STAGE, current_flow_run_id, only_transient, open_store


def closes_at(store, bars_ref: DatasetRef) -> pd.Series:
    """symbol -> adjusted close on the as_of session (the reference prices)."""
    bars = store.read(bars_ref, columns=["date", "symbol", "adj_close"])
    day = bars[bars["date"] == pd.Timestamp(bars_ref.as_of)]
    return day.set_index("symbol")["adj_close"]


@task(name="plan", retry_condition_fn=only_transient, **RETRY, **STAGE)
def plan(settings: Settings, scores_ref: DatasetRef, bars_ref: DatasetRef, live: bool = False) -> DatasetRef:
    """The rebalance's order plan. Once committed it is reused, never re-planned from later positions,
    so a re-run of the same rebalance sends the same orders with the same client_order_ids."""
    store, params = open_store(settings), definitions.plan_params(settings)
    inputs = {"scores": scores_ref, "bars": bars_ref}
    committed = store.lookup("orders", scores_ref.as_of, inputs=inputs, params=params.lineage())
    if committed is not None:
        return committed
    prices = closes_at(store, bars_ref)
    broker = definitions.broker(settings, as_of=scores_ref.as_of, prices=prices, live_opt_in=live)
    if params.fractional and not getattr(broker, "supports_fractional", False):
        raise PermanentError(
            f"broker {settings.broker!r} does not support fractional orders",
            "settings.fractional",
            "set fractional=false or use broker alpaca",
        )
    positions = pd.Series({p.symbol: p.qty for p in broker.positions()}, dtype=float)
    orders = plan_orders(
        target_weights(store.read(scores_ref)),
        positions,
        broker.account().cash,
        prices,
        rebalance_key=scores_ref.as_of.replace("-", ""),
        sizing=params,
    )
    return store.write(
        "orders",
        scores_ref.as_of,
        orders,
        inputs=inputs,
        params=params.lineage(),
        flow_run_id=current_flow_run_id(),
        known_new=True,
    )  # the look-up above found none
