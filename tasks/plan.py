"""Order planning: target weights against the broker's positions -> dataset ``orders`` (persisted first)."""

from __future__ import annotations

from momentum import definitions
from momentum.portfolio import SessionPrices, plan_rebalance, session_prices
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore
from tasks.common import current_flow_run_id, stage


def prices_at(store: VersionedStore, bars_ref: DatasetRef) -> SessionPrices:
    """The prices known at the ``bars`` version's as_of session (read, then the domain's rule)."""
    return session_prices(store.read(bars_ref), bars_ref.as_of)


@stage("plan")
def plan(
    settings: Settings,
    scores_ref: DatasetRef,
    bars_ref: DatasetRef,
    live: bool = False,
    market_ref: DatasetRef | None = None,
) -> DatasetRef:
    """The rebalance's order plan, at the closes of its signal session (``bars_ref``) against the account
    as it stands on the run's session (``market_ref``, default ``bars_ref``). Once committed it is reused,
    never re-planned from later positions, so a re-run of the same rebalance sends the same orders with
    the same client_order_ids."""
    res, as_of = definitions.resources(settings), scores_ref.as_of
    inputs, params = {"scores": scores_ref, "bars": bars_ref}, res.plan.lineage()
    committed = res.store.lookup("orders", as_of, inputs=inputs, params=params)
    if committed is not None:
        return committed
    signal = prices_at(res.store, bars_ref)
    market = signal if market_ref is None or market_ref == bars_ref else prices_at(res.store, market_ref)
    account = res.broker(f"{market.as_of:%Y-%m-%d}", market, live)
    orders = plan_rebalance(res.store.read(scores_ref), account, signal.marks, as_of, res.plan)
    return res.store.write(
        "orders",
        as_of,
        orders,
        inputs=inputs,
        params=params,
        flow_run_id=current_flow_run_id(),
        known_new=True,
    )  # the look-up above found none
