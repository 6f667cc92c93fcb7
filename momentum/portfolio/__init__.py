"""From target weights to an order plan: whole or fractional quantities, cash buffer, client order ids."""

from __future__ import annotations

from momentum.portfolio._orders import (
    PLAN_COLUMNS,
    PlanParams,
    client_order_id,
    fund_buys,
    plan_frame,
    plan_orders,
    plan_quantities,
)
from momentum.portfolio._rebalance import check_fractional, plan_rebalance, reference_prices

__all__ = [
    "PLAN_COLUMNS",
    "PlanParams",
    "check_fractional",
    "client_order_id",
    "fund_buys",
    "plan_frame",
    "plan_orders",
    "plan_quantities",
    "plan_rebalance",
    "reference_prices",
]
