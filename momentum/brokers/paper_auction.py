"""The paper broker's auctions: queued on-close / on-open orders filled at their session's price.

An auction fills the orders queued for one session together, the way the backtest fills a rebalance
(:func:`momentum.portfolio.funded_fills`): sells first at the session's adjusted close (``cls``) or open
(``opg``; a name without a bar that session sells at its last close), then the buys the cash covers,
trimmed largest first, one whole share at a time; a buy of a name without a price that session does not
fill. Prices move against the order by the slippage, commission is charged on the filled notional. The
part of an order that does not fill expires (``expired``, terminal), as an auction's remainder does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from momentum.portfolio import SessionPrices, funded_fills

QUEUED = "accepted"
AUCTION_PRICE = {"cls": "close", "opg": "open"}


@dataclass(frozen=True)
class PaperTerms:
    """The simulated account's terms: starting cash (dollars), commission and slippage (basis points)."""

    initial_cash: float
    cost_bps: float = 0.0
    slippage_bps: float = 0.0


def due_sessions(ledger: pd.DataFrame, prices: SessionPrices) -> list[str]:
    """The sessions (YYYY-MM-DD, ascending) with queued orders whose auction price is now known."""
    queued = ledger.loc[ledger["status"] == QUEUED, "session"]
    return sorted(s for s in set(queued) if prices.knows(pd.Timestamp(s)))


def run_auction(ledger: pd.DataFrame, rows: pd.Index, prices: SessionPrices, terms: PaperTerms) -> None:
    """Fill the queued ``rows`` of ``ledger`` (one session, one time in force) in place."""
    cost, slippage = terms.cost_bps / 1e4, terms.slippage_bps / 1e4
    rows = ledger.loc[rows].sort_values("symbol").index
    batch = ledger.loc[rows]
    session = pd.Timestamp(batch["session"].iloc[0])
    symbols = batch["symbol"].to_numpy()
    auction = prices.auction(session, AUCTION_PRICE[batch["time_in_force"].iloc[0]]).reindex(symbols)
    tradable = auction.notna().to_numpy()
    price = np.where(tradable, auction.to_numpy(), prices.last_close(session).reindex(symbols).to_numpy())
    buy = (batch["side"] == "buy").to_numpy()
    price = price * np.where(buy, 1 + slippage, 1 - slippage)
    fills = filled(ledger)
    held = held_shares(fills).reindex(symbols).fillna(0.0).to_numpy()
    planned = np.where(buy, batch["qty"].to_numpy(), -np.minimum(batch["qty"].to_numpy(), held))
    planned = np.where(np.isnan(price), 0.0, planned)
    delta = funded_fills(
        planned, np.nan_to_num(price), tradable | ~buy, cash(fills, terms.initial_cash), cost, 1.0
    )
    shares = np.abs(delta)
    ledger.loc[rows, "filled_qty"] = shares
    ledger.loc[rows, "filled_avg_price"] = np.where(shares > 0, price, np.nan)
    ledger.loc[rows, "commission"] = shares * np.nan_to_num(price) * cost
    ledger.loc[rows, "status"] = np.where(
        np.abs(shares - batch["qty"].to_numpy()) < 1e-9, "filled", "expired"
    )


def filled(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger's rows that filled (some or all of their quantity)."""
    return ledger[ledger["filled_qty"] > 0]


def held_shares(fills: pd.DataFrame) -> pd.Series:
    """symbol -> net shares of the filled rows (0 once sold out)."""
    signed = fills["filled_qty"].where(fills["side"] == "buy", -fills["filled_qty"])
    return signed.groupby(fills["symbol"]).sum()


def cash(fills: pd.DataFrame, initial_cash: float) -> float:
    """Cash after the filled rows (dollars): sells add, buys and commissions take."""
    notional = fills["filled_qty"] * fills["filled_avg_price"]
    return initial_cash + float(
        notional.where(fills["side"] == "sell", -notional).sum() - fills["commission"].sum()
    )
