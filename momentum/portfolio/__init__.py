"""From target weights to an order plan: whole or fractional quantities, cash buffer, client order ids."""

from __future__ import annotations

from momentum.portfolio._orders import (
    MAX_CLIENT_ORDER_ID,
    PLAN_COLUMNS,
    PlanArrays,
    PlanParams,
    Sizing,
    client_order_id,
    fund_buys,
    funded_fills,
    plan_frame,
    plan_orders,
    plan_quantities,
)
from momentum.portfolio._prices import SessionPrices, closes_only, session_prices
from momentum.portfolio._rebalance import check_fractional, plan_rebalance, reference_prices

__all__ = [
    "MAX_CLIENT_ORDER_ID",
    "PLAN_COLUMNS",
    "PlanArrays",
    "PlanParams",
    "SessionPrices",
    "Sizing",
    "check_fractional",
    "client_order_id",
    "closes_only",
    "fund_buys",
    "funded_fills",
    "plan_frame",
    "plan_orders",
    "plan_quantities",
    "plan_rebalance",
    "reference_prices",
    "session_prices",
]
