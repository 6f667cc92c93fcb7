"""A rebalance's order plan for one broker account: the reference prices, the account's positions and
cash, the target weights of the scores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import pandas as pd

from momentum.errors import PermanentError
from momentum.portfolio._orders import PlanParams, plan_orders
from momentum.strategy import target_weights


class _Holding(Protocol):
    @property
    def symbol(self) -> str: ...

    @property
    def qty(self) -> float: ...


class _Cash(Protocol):
    @property
    def cash(self) -> float: ...


class BrokerAccount(Protocol):
    """What planning asks of a broker (every broker adapter has it): its positions and its cash (and, as
    an optional ``supports_fractional`` attribute, whether it can send fractional orders)."""

    def positions(self) -> Iterable[_Holding]: ...

    def account(self) -> _Cash: ...


def reference_prices(bars: pd.DataFrame, as_of: str) -> pd.Series:
    """symbol -> adjusted close on the ``as_of`` session (the plan's and the guards' reference prices);
    ``bars`` has columns ``date``, ``symbol``, ``adj_close``."""
    day = bars[bars["date"] == pd.Timestamp(as_of)]
    return day.set_index("symbol")["adj_close"]


def check_fractional(params: PlanParams, broker: BrokerAccount) -> None:
    """Refuse a fractional plan for a broker that cannot send fractional orders."""
    if params.fractional and not getattr(broker, "supports_fractional", False):
        raise PermanentError(
            f"broker {params.broker!r} does not support fractional orders",
            "settings.fractional",
            "set fractional=false or use broker alpaca",
        )


def plan_rebalance(
    scores: pd.DataFrame, broker: BrokerAccount, prices: pd.Series, as_of: str, params: PlanParams
) -> pd.DataFrame:
    """The orders that move ``broker``'s account to the weights of ``scores`` (the ``as_of`` rebalance,
    whose date keys every order's ``client_order_id``), at the reference ``prices``."""
    check_fractional(params, broker)
    positions = pd.Series({p.symbol: p.qty for p in broker.positions()}, dtype=float)
    return plan_orders(
        target_weights(scores),
        positions,
        broker.account().cash,
        prices,
        rebalance_key=as_of.replace("-", ""),
        sizing=params,
    )
