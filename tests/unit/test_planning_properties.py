"""Properties of order planning, on generated portfolios: a funded plan never overdraws the cash, and
a portfolio already at its target plans no order."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from momentum.portfolio import Sizing, plan_orders, plan_quantities

PRICE = st.floats(min_value=0.5, max_value=5_000.0, allow_nan=False)
SHARES = st.integers(min_value=0, max_value=2_000).map(float)
CASH = st.floats(min_value=0.0, max_value=1e7, allow_nan=False)
COST_BPS = st.sampled_from([0.0, 1.0, 10.0, 50.0])


@st.composite
def portfolios(draw):
    """(weights summing to at most 1, current whole shares, cash in dollars, prices in dollars)."""
    n = draw(st.integers(min_value=1, max_value=8))
    raw = np.array(draw(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=n, max_size=n)))
    invested = draw(st.floats(min_value=0.0, max_value=1.0))
    weights = raw / raw.sum() * invested if raw.sum() > 0 else raw
    current = np.array(draw(st.lists(SHARES, min_size=n, max_size=n)))
    prices = np.array(draw(st.lists(PRICE, min_size=n, max_size=n)))
    return weights, current, draw(CASH), prices


def cash_after(delta: np.ndarray, cash: float, px: np.ndarray, cost_bps: float) -> float:
    """Cash once every sell and buy of ``delta`` (shares) has filled at ``px``, costs included."""
    cost = cost_bps / 1e4
    return (
        cash
        + float(np.clip(-delta, 0, None) @ px) * (1 - cost)
        - float(np.clip(delta, 0, None) @ px) * (1 + cost)
    )


@settings(max_examples=300, deadline=None)
@given(portfolios(), COST_BPS, st.booleans(), st.sampled_from([0.0, 0.02]))
def test_cash_after_the_trades_is_never_negative(portfolio, cost_bps, fractional, cash_buffer):
    weights, current, cash, px = portfolio
    delta = plan_quantities(
        weights, current, cash, px, Sizing(fractional=fractional, cash_buffer=cash_buffer, cost_bps=cost_bps)
    )
    assert cash_after(delta, cash, px, cost_bps) >= -1e-6 * max(1.0, cash)
    assert (current + delta >= 0).all()  # long-only: never sells more than it holds


@settings(max_examples=300, deadline=None)
@given(portfolios(), st.booleans())
def test_a_portfolio_already_at_its_target_plans_no_order(portfolio, fractional):
    weights, current, cash, px = portfolio
    symbols = [f"S{i}" for i in range(len(px))]
    prices = pd.Series(px, index=symbols)
    targets = pd.Series(weights, index=symbols)
    first = plan_orders(
        targets,
        pd.Series(current, index=symbols),
        cash,
        prices,
        rebalance_key="r1",
        sizing=Sizing(fractional=fractional),
    )
    # fill the first plan at the reference prices (no costs): the book is now at its target
    held = pd.Series(current, index=symbols)
    held.update(first.set_index("symbol")["target_qty"])
    spent = float((np.where(first["side"] == "buy", 1, -1) * first["qty"] * first["ref_price"]).sum())
    left = max(0.0, cash - spent)  # >= 0 but for float rounding: without costs the plan is always funded
    again = plan_orders(targets, held, left, prices, rebalance_key="r2", sizing=Sizing(fractional=fractional))
    assert again.empty, again[["symbol", "side", "qty", "est_value"]]
