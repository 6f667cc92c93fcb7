"""Provider ``alpaca``: daily bars from Alpaca Market Data v2 (``GET /v2/stocks/bars``).

Adjusted closes (``adjustment=all``: splits, dividends and spin-offs) on the feed ``alpaca_data_feed``
(default ``sip``), in requests of at most 200 symbols, each followed page by page until
``next_page_token`` is null (one operation deadline for the whole chain); nothing is returned before
every page arrived. A symbol the API leaves out
of ``bars`` (unknown, delisted, not yet listed) is simply missing; a 400 ``invalid symbol: X`` drops X,
records why in :attr:`AlpacaProvider.rejected`, and asks again for the rest.

The last session is the latest NYSE session whose close (early closes included) was at least 20
minutes ago: the free plan serves SIP data older than 15 minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import pandas as pd

from momentum.calendar import last_closed_session
from momentum.providers.alpaca_http import MarketDataClient
from momentum.providers.alpaca_wire import (
    ADJUSTMENT,
    BARS_PATH,
    MAX_SYMBOLS,
    InvalidSymbolError,
    MarketDataError,
    bars_params,
    merge_pages,
    parse_page,
)
from momentum.universe import symbol_key

log = logging.getLogger(__name__)

HISTORY_START = pd.Timestamp("2016-01-01")  # the free plan's history starts in 2016
MAX_PAGES = 10_000  # per request: a server that never ends its token chain is an error


def batches(symbols: Sequence[str], size: int = MAX_SYMBOLS) -> list[list[str]]:
    """Equal batches of at most ``size`` symbols (fewer, fuller pages than 200 + a short tail)."""
    count = -(-len(symbols) // size)
    step = -(-len(symbols) // count) if count else 0
    return [list(symbols[i : i + step]) for i in range(0, len(symbols), step)] if count else []


class AlpacaProvider:
    """Alpaca Market Data v2 daily bars over ``client`` (its session and rate limiter); ``rejected`` maps a
    symbol the last :meth:`bars` call dropped to the API's reason."""

    name = "alpaca"
    needs_symbols = True

    def __init__(
        self,
        client: MarketDataClient,
        *,
        feed: str = "sip",
        benchmark_symbol: str = "SPY",
        now: Callable[[], pd.Timestamp] = lambda: pd.Timestamp.now(tz="UTC"),
    ) -> None:
        self.feed = feed
        self.benchmark_symbol = symbol_key(benchmark_symbol)
        self.client = client
        self._now = now
        self.rejected: dict[str, str] = {}

    def lineage(self) -> dict[str, object]:
        """The endpoint, the feed, the adjustment and the benchmark symbol."""
        return {
            "source": self.client.base_url,
            "feed": self.feed,
            "adjustment": ADJUSTMENT,
            "benchmark_symbol": self.benchmark_symbol,
        }

    def last_session(self) -> pd.Timestamp:
        return last_closed_session(self._now())  # calendar.SETTLE: 20 minutes after the close

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent to the data API so far (retries included)."""
        return self.client.requests_sent

    def bars(
        self, start: pd.Timestamp | None, end: pd.Timestamp, symbols: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Bars of ``symbols`` (default: S&P 500 members at ``end`` + the benchmark) in [start, end]."""
        self.rejected = {}
        if symbols is None:
            from momentum.universe import sp500_members

            symbols = [*sp500_members(pd.Timestamp(end))["symbol"], self.benchmark_symbol]
        wanted = sorted({symbol_key(s) for s in symbols})
        first = pd.Timestamp(start) if start is not None else HISTORY_START
        frames = [self._batch(batch, first, pd.Timestamp(end)) for batch in batches(wanted)]
        return merge_pages(frames, f"GET {BARS_PATH}")

    def benchmark(self, start: pd.Timestamp | None, end: pd.Timestamp) -> pd.Series:
        """Adjusted closes of ``benchmark_symbol`` (default SPY), indexed by session."""
        bars = self.bars(start, end, [self.benchmark_symbol])
        return pd.Series(bars["adj_close"].to_numpy(), index=pd.DatetimeIndex(bars["date"]), name="benchmark")

    def _batch(self, symbols: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """One batch, every page; an invalid symbol is dropped (with its reason) and the rest asked again."""
        symbols = list(symbols)
        while symbols:
            try:
                return self._pages(symbols, start, end)
            except InvalidSymbolError as exc:
                if exc.symbol not in symbols:
                    raise MarketDataError(f"{exc} (a symbol this request did not ask for)") from None
                symbols.remove(exc.symbol)
                self.rejected[exc.symbol] = (
                    f"rejected by the data API (HTTP 400 invalid symbol: {exc.symbol})"
                )
                log.warning(
                    "alpaca data: dropped %s (%s); asking again for the other %d",
                    exc.symbol,
                    exc,
                    len(symbols),
                )
        return merge_pages([], f"GET {BARS_PATH}")

    def _pages(self, symbols: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        params = bars_params(symbols, start, end, self.feed)
        span = f"{symbols[0]}..{symbols[-1]} ({len(symbols)} symbols), {start:%Y-%m-%d}..{end:%Y-%m-%d}"
        pages, token, seen = [], None, set()
        deadline = self.client.operation()  # one deadline for the whole chain of pages
        for page in range(1, MAX_PAGES + 1):
            what = f"GET {BARS_PATH} [{span}, page {page}]"
            query = {**params, **({"page_token": token} if token else {})}
            frame, token = parse_page(self.client.get(BARS_PATH, query, what, deadline), what)
            pages.append(frame)
            if token is None:
                return self._only_asked(merge_pages(pages, what), symbols, what)
            if token in seen:
                raise MarketDataError(f"{what}: next_page_token repeats an earlier page's token")
            seen.add(token)
        raise MarketDataError(f"GET {BARS_PATH} [{span}]: more than {MAX_PAGES} pages")

    @staticmethod
    def _only_asked(frame: pd.DataFrame, symbols: list[str], what: str) -> pd.DataFrame:
        extra = sorted(set(frame["symbol"]) - set(symbols))
        if extra:
            raise MarketDataError(
                f"{what}: the reply holds bars of {', '.join(extra[:5])}, which were not asked for"
            )
        return frame
