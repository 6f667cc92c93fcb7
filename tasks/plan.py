"""Order planning: target weights against the broker's positions -> dataset ``orders`` (persisted first)."""

from __future__ import annotations

import pandas as pd

from momentum import definitions
from momentum.portfolio import plan_rebalance, reference_prices
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore
from tasks.common import current_flow_run_id, stage


def closes_at(store: VersionedStore, bars_ref: DatasetRef) -> pd.Series:
    """The reference prices of the ``bars`` version's as_of session (read, then the domain's rule)."""
    return reference_prices(store.read(bars_ref, columns=["date", "symbol", "adj_close"]), bars_ref.as_of)


@stage("plan")
def plan(settings: Settings, scores_ref: DatasetRef, bars_ref: DatasetRef, live: bool = False) -> DatasetRef:
    """The rebalance's order plan. Once committed it is reused, never re-planned from later positions,
    so a re-run of the same rebalance sends the same orders with the same client_order_ids."""
    res, as_of = definitions.resources(settings), scores_ref.as_of
    inputs, params = {"scores": scores_ref, "bars": bars_ref}, res.plan.lineage()
    committed = res.store.lookup("orders", as_of, inputs=inputs, params=params)
    if committed is not None:
        return committed
    prices = closes_at(res.store, bars_ref)
    orders = plan_rebalance(
        res.store.read(scores_ref), res.broker(as_of, prices, live), prices, as_of, res.plan
    )
    return res.store.write(
        "orders",
        as_of,
        orders,
        inputs=inputs,
        params=params,
        flow_run_id=current_flow_run_id(),
        known_new=True,
    )  # the look-up above found none
