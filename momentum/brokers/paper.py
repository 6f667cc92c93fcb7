"""The paper broker (the default): simulated fills, its order book kept as a dataset in the store.

The account lives at the session ``as_of`` and knows the prices of every session up to it
(:class:`~momentum.portfolio.SessionPrices`). A ``day`` (market) order fills at once at the as_of close;
an on-close (``cls``) or on-open (``opg``) order is queued for the auction of the session
:func:`~momentum.brokers.auction.auction_slot` gives at the broker's clock (19:30 New York time on the
as_of session, when the daily deployment runs: the next session), and filled at that session's close or
open by the first broker object that knows that price (:mod:`momentum.brokers.paper_auction`, the
backtest's fill rule), which commits the fills as the ledger's next version. Fill prices move against the
order by ``slippage_bps`` (buys above, sells below; 0 by default), with ``cost_bps`` basis points of
commission on traded notional. Like a real broker it refuses a second order with a
``client_order_id`` it has seen, refuses sells of shares it does not hold (long-only) and buys it cannot
pay for. Each accepted order commits a new version of the ``paper_ledger`` dataset, so a crash between
two orders loses nothing and double-sends nothing. Cash and positions are derived from the ledger.

Store requests do not grow with the orders: the ledger is read once per broker object (its head: two
LISTs and three GETs however many versions it holds) and kept in memory; each order then writes one
version (three PUTs, no LIST: the order id was just checked to be new against that ledger).

The ledger is a chained dataset (see :meth:`momentum.store.VersionedStore.write_after`): each version is
committed as the successor of the version it was computed from, with a conditional create, so of two
brokers trading the same account at once exactly one commits each next version. The other re-reads the
ledger and checks its order again: an order the winner booked under the same ``client_order_id`` is then
a duplicate, not booked twice.
"""

from __future__ import annotations

import pandas as pd

from momentum.brokers.auction import AUCTION, auction_slot
from momentum.brokers.base import (
    Account,
    BrokerError,
    DuplicateOrderError,
    MarketClock,
    OrderRequest,
    OrderStatus,
    Position,
)
from momentum.brokers.paper_auction import (
    QUEUED,
    PaperTerms,
    cash,
    due_sessions,
    filled,
    held_shares,
    run_auction,
)
from momentum.portfolio import SessionPrices
from momentum.store import VersionConflict, VersionedStore

LEDGER = "paper_ledger"
MAX_CONFLICTS = 20  # commits lost in a row to other writers before an order gives up
LEDGER_COLUMNS = {
    "client_order_id": "str",
    "broker_order_id": "str",
    "as_of": "str",
    "symbol": "str",
    "side": "str",
    "qty": "float64",
    "filled_qty": "float64",
    "filled_avg_price": "float64",
    "commission": "float64",
    "status": "str",
    "time_in_force": "str",
    "session": "str",  # the session whose price fills it (a day order: the as_of it was booked on)
}
RUN_TIME = pd.Timedelta(hours=19, minutes=30)  # New York time of the simulated run: the daily schedule


class PaperBroker:
    """A simulated broker account at the session ``as_of``, knowing the ``prices`` up to it."""

    name = "paper"
    live = False
    supports_fractional = True

    def __init__(
        self,
        store: VersionedStore,
        *,
        as_of: str,
        prices: SessionPrices,
        terms: PaperTerms,
        flow_run_id: str | None = None,
    ) -> None:
        self.store, self.as_of, self.prices, self.terms = store, as_of, prices, terms
        self.initial_cash, self.cost = terms.initial_cash, terms.cost_bps / 1e4
        self.slippage = terms.slippage_bps / 1e4
        self.flow_run_id = flow_run_id
        self._book: tuple[pd.DataFrame, str | None] | None = None

    def _ledger(self) -> tuple[pd.DataFrame, str | None]:
        """The ledger and its version (None before the first order), read from the store only once, with
        the auctions whose prices are now known run and committed."""
        for _ in range(MAX_CONFLICTS):
            if self._book is not None:
                return self._book
            manifest = self.store.head(LEDGER)
            ledger = _empty() if manifest is None else _upgraded(self.store.read(manifest.ref))
            self._book = (ledger, None if manifest is None else manifest.version)
            try:
                self._settle()
            except VersionConflict:
                self._book = None  # another broker committed first: read its ledger and settle again
        raise BrokerError(f"paper ledger: {MAX_CONFLICTS} settlements in a row lost to other writers")

    def _settle(self) -> None:
        """Run the auctions of the queued orders whose session's price is known; commit the fills."""
        assert self._book is not None
        ledger, prior = self._book
        due = due_sessions(ledger, self.prices)
        if not due:
            return
        ledger = ledger.copy()
        for session in due:
            for tif in ("opg", "cls"):  # the open comes before the close
                rows = ledger.index[
                    (ledger["status"] == QUEUED)
                    & (ledger["session"] == session)
                    & (ledger["time_in_force"] == tif)
                ]
                if len(rows):
                    run_auction(ledger, rows, self.prices, self.terms)
        as_of = max(self.as_of, str(ledger["as_of"].max()))
        ref = self.store.write_after(
            LEDGER,
            as_of,
            ledger,
            prior,
            params={"auctions": ",".join(due), "after": prior},
            flow_run_id=self.flow_run_id,
        )
        self._book = (ledger, ref.version)

    def _fills(self) -> pd.DataFrame:
        ledger, _ = self._ledger()
        return filled(ledger)

    def positions(self) -> list[Position]:
        return self._positions(self._fills())

    def account(self) -> Account:
        fills = self._fills()
        left = cash(fills, self.initial_cash)
        return Account(cash=left, equity=left + sum(p.market_value for p in self._positions(fills)))

    def _positions(self, fills: pd.DataFrame) -> list[Position]:
        """Net shares per symbol from the fills, marked at the as_of close (else the last fill price)."""
        last_fill = fills.groupby("symbol")["filled_avg_price"].last()
        marks, out = self.prices.marks, []
        for symbol, qty in held_shares(fills).items():
            if abs(qty) > 1e-9:
                close = marks.get(symbol, float("nan"))
                price = float(close) if pd.notna(close) else float(last_fill[symbol])
                out.append(Position(symbol=symbol, qty=float(qty), market_value=float(qty * price)))
        return out

    def submit(self, order: OrderRequest) -> OrderStatus:
        """Book ``order`` on the ledger; when another writer committed the next version first, read the
        ledger again and check the order against it (a DuplicateOrderError if that writer booked it)."""
        for _ in range(MAX_CONFLICTS):
            try:
                return self._book_order(order)
            except VersionConflict:
                self._book = None  # another broker committed first: read its ledger and check again
        raise BrokerError(
            f"paper ledger: {MAX_CONFLICTS} commits of order {order.client_order_id} in a row lost to "
            "other writers; is another run trading this account?"
        )

    def _book_order(self, order: OrderRequest) -> OrderStatus:
        ledger, prior = self._ledger()
        if (ledger["client_order_id"] == order.client_order_id).any():
            raise DuplicateOrderError(f"client_order_id {order.client_order_id} already exists")
        if len(ledger) and ledger["as_of"].max() > self.as_of:
            raise BrokerError(
                f"paper account already traded on {ledger['as_of'].max()}; "
                f"cannot trade on earlier {self.as_of}",
                fix="a paper account cannot go back in time: start another with another --store",
            )
        if order.time_in_force in AUCTION:
            status, done, price, session = *self._queue(order, ledger), float("nan"), self._auction(order)
        else:
            (status, done, price), session = self._fill(order, filled(ledger)), self.as_of
        row = {
            "client_order_id": order.client_order_id,
            "broker_order_id": f"paper-{len(ledger) + 1:08d}",
            "as_of": self.as_of,
            "symbol": order.symbol,
            "side": order.side,
            "qty": done or _qty(order, price),
            "filled_qty": done,
            "filled_avg_price": price,
            "commission": done * price * self.cost,
            "status": status,
            "time_in_force": order.time_in_force,
            "session": session,
        }
        updated = pd.concat([ledger, pd.DataFrame([row])], ignore_index=True).astype(LEDGER_COLUMNS)
        ref = self.store.write_after(
            LEDGER,
            self.as_of,
            updated,
            prior,
            params={"client_order_id": order.client_order_id, "after": prior},
            flow_run_id=self.flow_run_id,
        )
        self._book = (updated, ref.version)
        return _status(row)

    def _auction(self, order: OrderRequest) -> str:
        """The session whose auction fills an on-close / on-open order sent now (YYYY-MM-DD)."""
        if order.time_in_force == "opg" and self.prices.opens is None:
            raise BrokerError(
                f"paper broker: on-open order {order.client_order_id} needs opening prices and the bars "
                "have none (columns open and close)",
                fix="use order_timing close, or bars with opens",
            )
        return f"{auction_slot(order.time_in_force, self.clock().timestamp).session:%Y-%m-%d}"

    def _queue(self, order: OrderRequest, ledger: pd.DataFrame) -> tuple[str, float]:
        """Accept an auction order (whole shares; a sell of no more than the shares held and not already
        queued for sale) or reject it; the fill comes at the auction."""
        qty = float(order.qty or 0.0)
        queued_sells = ledger[(ledger["status"] == QUEUED) & (ledger["side"] == "sell")]
        held = float(held_shares(filled(ledger)).get(order.symbol, 0.0))
        free = held - float(queued_sells.loc[queued_sells["symbol"] == order.symbol, "qty"].sum())
        if (
            order.notional is not None
            or qty <= 0
            or qty != round(qty)
            or (order.side == "sell" and qty > free + 1e-9)
        ):
            return "rejected", 0.0
        return QUEUED, 0.0

    def _fill(self, order: OrderRequest, fills: pd.DataFrame) -> tuple[str, float, float]:
        close = float(self.prices.marks.get(order.symbol, float("nan")))
        price = close * (1 + self.slippage if order.side == "buy" else 1 - self.slippage)
        if not price > 0:
            return "rejected", 0.0, float("nan")
        qty = _qty(order, price)
        held = float(held_shares(fills).get(order.symbol, 0.0))
        if qty <= 0 or (order.side == "sell" and qty > held + 1e-9):
            return "rejected", 0.0, price
        if order.side == "buy" and qty * price * (1 + self.cost) > cash(fills, self.initial_cash) + 1e-6:
            return "rejected", 0.0, price
        return "filled", qty, price

    def get_by_client_id(self, client_order_id: str) -> OrderStatus | None:
        ledger, _ = self._ledger()
        rows = ledger[ledger["client_order_id"] == client_order_id]
        return _status(rows.iloc[0].to_dict()) if len(rows) else None

    def open_orders(self) -> list[OrderStatus]:
        ledger, _ = self._ledger()
        return [_status(row) for row in ledger[ledger["status"] == QUEUED].to_dict("records")]

    def cancel(self, broker_order_id: str) -> None:
        raise BrokerError(
            f"paper order {broker_order_id} cannot be cancelled (the paper broker has no cancel)"
        )

    def clock(self) -> MarketClock:
        """The simulated run: 19:30 New York time on the session ``as_of`` (the daily schedule), open to
        ``day`` orders, which fill at once at the as_of close."""
        run = (pd.Timestamp(self.as_of) + RUN_TIME).tz_localize("America/New_York").tz_convert("UTC")
        return MarketClock(timestamp=run.to_pydatetime(), is_open=True, next_open=run, next_close=run)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in LEDGER_COLUMNS.items()})


def _upgraded(ledger: pd.DataFrame) -> pd.DataFrame:
    """A ledger written before auction orders: every row a day order filled on its as_of."""
    if "time_in_force" not in ledger:
        ledger = ledger.assign(time_in_force="day", session=ledger["as_of"])
    return ledger.astype(LEDGER_COLUMNS)


def _qty(order: OrderRequest, price: float) -> float:
    if order.qty is not None:
        return float(order.qty)
    return round(float(order.notional or 0.0) / price, 6) if price > 0 else 0.0


def _status(row: dict) -> OrderStatus:
    return OrderStatus(
        client_order_id=row["client_order_id"],
        broker_order_id=row["broker_order_id"],
        symbol=row["symbol"],
        side=row["side"],
        status=row["status"],
        qty=float(row["qty"]),
        filled_qty=float(row["filled_qty"]),
        filled_avg_price=None if pd.isna(row["filled_avg_price"]) else float(row["filled_avg_price"]),
    )
