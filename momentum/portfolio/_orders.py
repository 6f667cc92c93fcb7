"""Order planning: target weights + current positions + cash + reference prices -> an order plan.

Quantities are shares, prices and values dollars, weights fractions of equity. Sells come before buys
and buys are trimmed until they are funded by cash plus sell proceeds after costs. Whole shares by
default; ``fractional`` plans 6-decimal quantities and ``notional`` (needs ``fractional``) sends the
buys as dollar amounts (brokers that support it: paper, Alpaca with fractionable assets). Every order
carries a deterministic ``client_order_id`` built from the rebalance, the symbol and the side, so a
re-run of the same rebalance sends the same ids and the broker refuses a second copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from momentum.errors import PermanentError

PLAN_COLUMNS = [
    "client_order_id",
    "symbol",
    "side",
    "qty",
    "notional",
    "ref_price",
    "est_value",
    "current_qty",
    "target_qty",
    "target_weight",
]
MAX_CLIENT_ORDER_ID = 48  # the bot's ids; brokers refuse longer ones before sending (Alpaca allows 128)


class MissingPrice(PermanentError, ValueError):
    """A symbol to plan (a target or a held position) has no usable price in the run's data."""


@dataclass(frozen=True)
class Sizing:
    """How :func:`plan_orders` sizes a plan: whole shares unless ``fractional`` (6 decimals), buys as
    dollar amounts when ``notional`` (needs ``fractional``), trades worth less than ``min_order_value``
    dollars dropped, a ``cash_buffer`` fraction of equity kept in cash, buys funded after ``cost_bps``
    (every cost a fill will carry, basis points of traded notional)."""

    fractional: bool = False
    notional: bool = False
    min_order_value: float = 1.0
    cash_buffer: float = 0.0
    cost_bps: float = 0.0


@dataclass(frozen=True)
class PlanParams(Sizing):
    """What a plan depends on besides its input datasets: the account it is made for (``broker``, and
    for Alpaca its ``endpoint``: a plan made against one account is never reused for another) and its
    :class:`Sizing`."""

    broker: str = "paper"
    endpoint: str | None = None

    def lineage(self) -> dict[str, Any]:
        """The ``orders`` dataset's params (no secrets; ``endpoint`` only for a broker that has one)."""
        params = {
            "broker": self.broker,
            "fractional": self.fractional,
            "min_order_value": self.min_order_value,
            "cash_buffer": self.cash_buffer,
            "notional": self.notional,
            "cost_bps": self.cost_bps,
        }
        return params | ({"endpoint": self.endpoint} if self.endpoint is not None else {})


@dataclass(frozen=True)
class PlanArrays:
    """The planning core's arrays, in one symbol order: ``symbols``, ``delta`` (shares to trade, + buy,
    - sell), ``px`` (reference prices, dollars), ``current`` (shares held) and ``weights`` (targets)."""

    symbols: np.ndarray
    delta: np.ndarray
    px: np.ndarray
    current: np.ndarray
    weights: np.ndarray


_ID_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")


def client_order_id(rebalance_key: str, symbol: str, side: str) -> str:
    """Deterministic broker idempotency key for one rebalance, symbol and side (at most
    :data:`MAX_CLIENT_ORDER_ID` characters)."""
    return str(client_order_ids([rebalance_key], [symbol], [side])[0])


def client_order_ids(rebalance_keys: ArrayLike, symbols: ArrayLike, sides: ArrayLike) -> np.ndarray:
    """:func:`client_order_id` of many orders at once (strings in, ``mom-{key}-{symbol}-{side}`` out),
    checked together; a bad one raises naming it."""
    keys, symbols, sides = (np.asarray(a, dtype=object) for a in (rebalance_keys, symbols, sides))
    ids = "mom-" + keys + "-" + symbols + "-" + sides
    if len(ids) and not (
        ((sides == "buy") | (sides == "sell")).all()
        and max(map(len, ids)) <= MAX_CLIENT_ORDER_ID
        and _ID_CHARS.match("".join(ids))
    ):
        for coid, side in zip(ids, sides, strict=True):
            _check_client_order_id(coid, side)
    return ids


def _check_client_order_id(coid: str, side: str) -> None:
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    if len(coid) > MAX_CLIENT_ORDER_ID:
        raise ValueError(f"client_order_id {coid!r} longer than {MAX_CLIENT_ORDER_ID} characters")
    if not _ID_CHARS.match(coid):
        raise ValueError(f"client_order_id {coid!r} has characters outside A-Z a-z 0-9 . _ -")


def plan_orders(
    target_weights: pd.Series,
    positions: pd.Series,
    cash: float,
    prices: pd.Series,
    *,
    rebalance_key: str,
    sizing: Sizing = Sizing(),
) -> pd.DataFrame:
    """The orders that move ``positions`` (symbol -> shares) to ``target_weights`` at ``prices``.

    Equity = cash + marked positions; ``cash_buffer`` of it stays in cash. Whole shares unless
    ``fractional`` (then 6 decimals). Orders worth less than ``min_order_value`` are dropped.
    With ``notional`` the buys carry a dollar ``notional`` (qty stays the estimate); sells always go
    by quantity so a position can be closed exactly. The plan is sorted sells first, then by symbol.
    """
    _check_sizing(target_weights, cash, sizing)
    symbols, px, current, weights = _in_symbol_order(target_weights, positions, prices)
    delta = plan_quantities(weights, current, cash, px, sizing)
    arrays = PlanArrays(symbols, delta, px, current, weights)
    return plan_frame(arrays, rebalance_key=rebalance_key, notional=sizing.notional)


def _check_sizing(target_weights: pd.Series, cash: float, sizing: Sizing) -> None:
    """Refuse inputs no plan can be sized from: notional without fractional, cash (dollars) negative
    or not finite, a ``cash_buffer`` fraction outside [0, 1), weights short or leveraged."""
    if sizing.notional and not sizing.fractional:
        raise ValueError("notional orders need fractional=True (a dollar amount buys fractions of a share)")
    if cash < 0 or not np.isfinite(cash):
        raise ValueError(f"cash must be a finite number >= 0, got {cash!r}")
    if not 0 <= sizing.cash_buffer < 1:
        raise ValueError(f"cash_buffer must be in [0, 1), got {sizing.cash_buffer!r}")
    if (target_weights < 0).any() or target_weights.sum() > 1 + 1e-9:
        raise ValueError("target weights must be >= 0 and sum to at most 1 (long-only, no leverage)")


def _in_symbol_order(
    target_weights: pd.Series, positions: pd.Series, prices: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The symbols with a target or a position (sorted) and, in their order, the reference prices
    (dollars, each must be finite and > 0), the current shares and the target weights (0 if none)."""
    symbols = sorted(set(target_weights.index) | set(positions[positions != 0].index))
    missing = [s for s in symbols if not (s in prices.index and np.isfinite(prices[s]) and prices[s] > 0)]
    if missing:
        held = [s for s in missing if s not in target_weights.index]
        raise MissingPrice(
            f"no valid reference price for {', '.join(missing)}"
            + (f" ({', '.join(held)} held by the account but not in the run's data)" if held else ""),
            "the account's positions and the run's bars",
            "a paper account holds what earlier runs on its store bought: use another --store for "
            "another data source",
        )
    px = prices.reindex(symbols).to_numpy(dtype=float)
    current = positions.reindex(symbols).fillna(0.0).to_numpy(dtype=float)
    weights = target_weights.reindex(symbols).fillna(0.0).to_numpy(dtype=float)
    return np.array(symbols, dtype=object), px, current, weights


def plan_quantities(
    weights: np.ndarray, current: np.ndarray, cash: float, px: np.ndarray, sizing: Sizing = Sizing()
) -> np.ndarray:
    """Shares to trade per symbol (+ buy, - sell): the planning core, on arrays in symbol order.

    Equity = cash + current . px; targets are floored to whole (or 1e-6) shares; trades worth less
    than ``min_order_value`` are dropped; buys are trimmed until funded after costs.
    """
    equity = cash + float(current @ px)
    raw = weights * equity * (1.0 - sizing.cash_buffer) / px
    target = np.floor(raw * 1e6) / 1e6 if sizing.fractional else np.floor(raw)
    delta = target - current
    delta[np.abs(delta) * px < sizing.min_order_value] = 0.0
    return fund_buys(delta, cash, px, sizing.cost_bps / 1e4, step=1e-6 if sizing.fractional else 1.0)


def plan_frame(
    arrays: PlanArrays, *, rebalance_key: str | np.ndarray, notional: bool = False
) -> pd.DataFrame:
    """The plan table of non-zero ``delta`` rows (:data:`PLAN_COLUMNS`): by rebalance key (one key, or
    one per row for many rebalances at once), then sells first, then by symbol."""
    symbols, delta, px, current = arrays.symbols, arrays.delta, arrays.px, arrays.current
    keys = np.broadcast_to(np.asarray(rebalance_key, dtype=object), delta.shape)
    traded = np.flatnonzero(delta)
    traded = traded[np.lexsort((symbols[traded].astype(str), delta[traded] > 0, keys[traded].astype(str)))]
    side = np.where(delta[traded] < 0, "sell", "buy")
    qty = np.abs(delta[traded])
    est_value = qty * px[traded]
    return pd.DataFrame(
        {
            "client_order_id": client_order_ids(keys[traded], symbols[traded], side),
            "symbol": symbols[traded],
            "side": side,
            "qty": qty,
            "notional": np.where(notional & (side == "buy"), np.floor(est_value * 100) / 100, np.nan),
            "ref_price": px[traded],
            "est_value": est_value,
            "current_qty": current[traded],
            "target_qty": current[traded] + delta[traded],
            "target_weight": arrays.weights[traded],
        },
        columns=PLAN_COLUMNS,
    )


def funded_fills(
    planned: np.ndarray, price: np.ndarray, tradable: np.ndarray, cash: float, cost: float, step: float
) -> np.ndarray:
    """The planned shares (sells < 0, buys > 0) that fill in one session at ``price`` (dollars) with
    ``cash`` (dollars) and ``cost`` (fraction of notional): buys of names not ``tradable`` that session
    (no price) are dropped, and the buys are trimmed by :func:`fund_buys` if the cash after the sells and
    every cost would go below zero. The backtest and the paper broker's auctions fill by this rule."""
    delta = np.where(~tradable & (planned > 0), 0.0, planned)
    if cash - float(delta @ price) - cost * float(np.abs(delta) @ price) >= -1e-9:
        return delta
    traded = np.flatnonzero(delta)
    delta[traded] = fund_buys(delta[traded], cash, price[traded], cost, step)
    return delta


def fund_buys(delta: np.ndarray, cash: float, px: np.ndarray, cost: float, step: float) -> np.ndarray:
    """Trim the largest buy (first in symbol order on ties) until cash after sells and costs is >= 0."""
    delta = delta.copy()

    def cash_after() -> float:
        sells = float(np.clip(-delta, 0, None) @ px)
        buys = float(np.clip(delta, 0, None) @ px)
        return cash + sells * (1 - cost) - buys * (1 + cost)

    shortfall = -cash_after()
    while shortfall > 1e-9:
        buys = np.clip(delta, 0, None) * px
        biggest = int(np.argmax(buys))
        if buys[biggest] <= 0:
            break
        steps = max(1.0, np.ceil(shortfall / (px[biggest] * (1 + cost)) / step))
        delta[biggest] = max(0.0, delta[biggest] - steps * step)
        shortfall = -cash_after()
    return delta
