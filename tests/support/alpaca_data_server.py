"""A local Alpaca Market Data v2 look-alike (daily bars) for tests and benchmarks.

Serves ``GET /v2/stocks/bars`` over real HTTP on 127.0.0.1 (port 0) from a long frame of closes, paged
the way the real API pages: ``limit`` (1..10000, default 1000) counts bars across all symbols of a page,
bars are sorted by symbol then time, ``next_page_token`` is base64 of ``SYMBOL|D|<timestamp>`` of the
page's last bar and the next page starts after it. Daily ``t`` is 00:00 America/New_York in UTC.
Unknown symbols are absent from ``bars``; a malformed symbol (or one in ``invalid``) fails the whole
request with 400 ``{"message": "invalid symbol: X"}``; a wrong key pair gets a 401 HTML page.

Usage::

    # bars: date, symbol, adj_close [, open high low close volume]
    with AlpacaDataServer(bars) as srv:
        env = srv.env()                          # MOMENTUM_ALPACA_DATA_URL + key pair for the provider
        srv.fail_next(2, status=429)             # the next 2 requests answer 429 (no rate-limit headers)
        srv.respond_next("not json", status=200) # one raw body
        srv.delay_next(2.0)                      # hold the next answer 2 s (a client timeout)
        srv.trickle_next(2.0)                    # headers at once, then one body byte every 2 s
        srv.page_cap = 7                         # pages shorter than limit
        srv.newest = pd.Timestamp("2022-11-29")  # serve nothing after this session (a stale feed)
        srv.replace_bars(readjusted)             # serve other closes from now on (a re-adjusted past)
        assert srv.bar_requests == 3

Inspection: ``queries`` (the query dict of every bars request, in order), ``bar_requests``,
``auth_failures``, ``headers_seen`` (request headers, for secret scans), ``trickles`` (per trickled
answer: body bytes sent before the client hung up, the body's length, seconds per byte).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

from tests.support.loopback import LoopbackServer

BARS_PATH = "/v2/stocks/bars"
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9]{0,9}([.][A-Z0-9]{1,4})?$")
UNAUTHORIZED_HTML = (
    b"<html><head><title>401 Authorization Required</title></head><body><center><h1>401 "
    b"Authorization Required</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass
class _Fault:
    kind: str  # "status" | "raw" | "delay" | "trickle"
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json; charset=UTF-8"


@dataclass
class _Series:
    dates: np.ndarray  # session dates, datetime64[ns], sorted
    stamps: list[str]  # t of each bar (New York midnight in UTC, RFC 3339)
    bars: list[str]  # each bar as its JSON object {"t", "o", "h", "l", "c", "v", "n", "vw"}, serialized once


def bar_times(dates: pd.DatetimeIndex) -> list[str]:
    """Session dates -> daily bar ``t``: 00:00 America/New_York in UTC (``...T05:00:00Z`` in winter)."""
    utc = pd.DatetimeIndex(dates).tz_localize("America/New_York").tz_convert("UTC")
    return [f"{t:%Y-%m-%dT%H:%M:%S}Z" for t in utc]


def _series(frame: pd.DataFrame) -> _Series:
    frame = frame.sort_values("date")
    close = frame["adj_close"].to_numpy(float)
    pick = lambda name: frame[name].to_numpy(float) if name in frame else close  # noqa: E731
    volume = frame["volume"].to_numpy(float) if "volume" in frame else np.full(len(frame), 1_000_000.0)
    dates = pd.DatetimeIndex(frame["date"]).as_unit("ns")
    stamps = bar_times(dates)
    fields = {
        "o": pick("open"),
        "h": pick("high"),
        "l": pick("low"),
        "c": close,
        "v": volume,
        "n": np.full(len(frame), 1000.0),
        "vw": close,
    }
    columns = [[_json_number(v) for v in values.tolist()] for values in fields.values()]
    bars = [
        '{"t":"' + t + '",' + ",".join(f'"{k}":{v}' for k, v in zip(fields, row, strict=True)) + "}"
        for t, *row in zip(stamps, *columns, strict=True)
    ]
    return _Series(dates.to_numpy(), stamps, bars)


def _token(symbol: str, stamp: str) -> str:
    return base64.b64encode(f"{symbol}|D|{stamp}".encode()).decode()


def _untoken(token: str) -> tuple[str, str]:
    symbol, kind, stamp = base64.b64decode(token.encode(), validate=True).decode().split("|")
    if kind != "D":
        raise ValueError(kind)
    return symbol, stamp


class AlpacaDataServer(LoopbackServer):
    def __init__(
        self,
        bars: pd.DataFrame,
        key_id: str = "test-data-key-id",
        secret_key: str = "test-data-secret-key",
        *,
        invalid: set[str] | None = None,
    ) -> None:
        super().__init__(_Handler)
        self.key_id, self.secret_key = key_id, secret_key
        self._series = {str(s): _series(g) for s, g in bars.groupby("symbol", sort=True)}
        self.invalid = set(invalid or ())
        self.page_cap: int | None = None
        self.newest: pd.Timestamp | None = None
        self._faults: deque[_Fault] = deque()
        self.queries: list[dict[str, str]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.auth_failures = 0
        self.trickles: list[Trickle] = []

    def env(self) -> dict[str, str]:
        """The environment that points the ``alpaca`` provider at this server with its key pair."""
        return {
            "MOMENTUM_ALPACA_DATA_URL": self.base_url,
            "MOMENTUM_ALPACA_KEY_ID": self.key_id,
            "MOMENTUM_ALPACA_SECRET_KEY": self.secret_key,
        }

    @property
    def bar_requests(self) -> int:
        with self._lock:
            return len(self.queries)

    def replace_bars(self, bars: pd.DataFrame) -> None:
        """Serve ``bars`` from now on (for example a re-adjusted history after a split)."""
        series = {str(s): _series(g) for s, g in bars.groupby("symbol", sort=True)}
        with self._lock:
            self._series = series

    # ------------------------------------------------------------------ faults

    def fail_next(
        self, n: int = 1, *, status: int = 500, headers: dict[str, str] | None = None, body: Any = None
    ) -> None:
        """Answer the next ``n`` requests with ``status`` (JSON ``body``, default a message like Alpaca's)."""
        default = {
            "code": status * 100000 + 10000,
            "message": "too many requests"
            if status == 429
            else "internal server error"
            if status >= 500
            else f"injected {status}",
        }
        with self._lock:
            self._faults.extend(
                _Fault("status", status, default if body is None else body, dict(headers or {}))
                for _ in range(n)
            )

    def respond_next(
        self, body: Any, status: int = 200, n: int = 1, content_type: str = "application/json; charset=UTF-8"
    ) -> None:
        """Send ``body`` verbatim (bytes/str) or as JSON instead of the next ``n`` answers."""
        with self._lock:
            self._faults.extend(_Fault("raw", status, body, content_type=content_type) for _ in range(n))

    def delay_next(self, seconds: float, n: int = 1) -> None:
        """Hold the next ``n`` answers ``seconds`` before sending them."""
        with self._lock:
            self._faults.extend(_Fault("delay", delay=float(seconds)) for _ in range(n))

    def trickle_next(self, seconds_per_byte: float = 2.0, n: int = 1) -> None:
        """Send the next ``n`` answers' headers at once, then their body one byte every ``seconds_per_byte``
        (the gap between bytes stays under any client's read timeout; only a total deadline ends it)."""
        with self._lock:
            self._faults.extend(_Fault("trickle", delay=float(seconds_per_byte)) for _ in range(n))

    # ------------------------------------------------------------------ the endpoint

    def _bars(self, query: dict[str, str]) -> tuple[int, Any]:
        def bad(message: str) -> tuple[int, Any]:
            return 400, {"message": message}

        if query.get("timeframe") != "1Day":
            return bad(f"invalid timeframe: {query.get('timeframe', '')}")
        symbols = [s for s in query.get("symbols", "").split(",") if s]
        if not symbols:
            return bad("symbols is required")
        for symbol in symbols:
            if symbol in self.invalid or not _SYMBOL.match(symbol):
                return bad(f"invalid symbol: {symbol}")
        try:
            start = pd.Timestamp(query.get("start") or "2016-01-01")
            end = pd.Timestamp(query["end"]) if query.get("end") else pd.Timestamp.now().normalize()
            limit = int(query.get("limit") or 1000)
        except (ValueError, KeyError):
            return bad("invalid start, end or limit")
        if end < start:
            return bad("end should not be before start")
        if not 1 <= limit <= 10_000:
            return bad("invalid limit: must be between 1 and 10000")
        if self.newest is not None:
            end = min(end, pd.Timestamp(self.newest))
        after = None
        if query.get("page_token"):
            try:
                after = _untoken(query["page_token"])
            except (ValueError, UnicodeDecodeError):
                return bad("invalid page token")
        return 200, self._page(sorted(set(symbols)), start, end, limit, after)

    def _page(
        self,
        symbols: list[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        limit: int,
        after: tuple[str, str] | None,
    ) -> str:
        """One page as JSON text: at most ``limit`` bars across symbols, sorted by symbol then time."""
        room = min(limit, self.page_cap or limit)
        parts: list[str] = []
        token = None
        for symbol in symbols:
            series = self._series.get(symbol)
            if series is None or (after is not None and symbol < after[0]):
                continue
            lo = int(np.searchsorted(series.dates, start.to_datetime64(), "left"))
            hi = int(np.searchsorted(series.dates, end.to_datetime64(), "right"))
            if after is not None and symbol == after[0] and after[1] in series.stamps:
                lo = max(lo, series.stamps.index(after[1]) + 1)
            if lo >= hi:
                continue
            if room == 0:
                break
            take = min(hi - lo, room)
            parts.append(json.dumps(symbol) + ":[" + ",".join(series.bars[lo : lo + take]) + "]")
            room -= take
            if take < hi - lo:
                token = _token(symbol, series.stamps[lo + take - 1])
                break
            token = _token(symbol, series.stamps[lo + take - 1]) if room == 0 else None
        if token is not None and room == 0 and not self._more(symbols, start, end, token):
            token = None
        return '{"bars":{' + ",".join(parts) + '},"next_page_token":' + json.dumps(token) + "}"

    def _more(self, symbols: list[str], start: pd.Timestamp, end: pd.Timestamp, token: str) -> bool:
        """Whether any bar comes after the token's bar (a full last page then ends the chain)."""
        symbol, stamp = _untoken(token)
        for name in symbols:
            series = self._series.get(name)
            if series is None or name < symbol:
                continue
            lo = int(np.searchsorted(series.dates, start.to_datetime64(), "left"))
            hi = int(np.searchsorted(series.dates, end.to_datetime64(), "right"))
            if name == symbol and stamp in series.stamps:
                lo = max(lo, series.stamps.index(stamp) + 1)
            if lo < hi:
                return True
        return False

    def handle(self, handler: "_Handler") -> None:
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        with self._lock:
            self.headers_seen.append(dict(handler.headers))
        if (
            handler.headers.get("APCA-API-KEY-ID") != self.key_id
            or handler.headers.get("APCA-API-SECRET-KEY") != self.secret_key
        ):
            with self._lock:
                self.auth_failures += 1
            return handler.send(401, UNAUTHORIZED_HTML, content_type="text/html")
        if split.path != BARS_PATH:
            return handler.send(404, {"message": "Not Found"})
        with self._lock:
            self.queries.append(query)
            fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault.kind == "status":
            return handler.send(fault.status, fault.body, headers=fault.headers)
        if fault is not None and fault.kind == "raw":
            return handler.send(fault.status, fault.body, content_type=fault.content_type)
        status, payload = self._bars(query)
        if fault is not None and fault.kind == "delay" and self._stopping.wait(fault.delay):
            return
        if fault is not None and fault.kind == "trickle":
            return send_trickled(handler, payload, fault.delay, self)
        handler.send(status, payload, headers=_rate_headers())


@dataclass
class Trickle:
    """One trickled answer: ``sent`` of ``length`` body bytes went out, one every ``seconds_per_byte``."""

    sent: int
    length: int
    seconds_per_byte: float

    @property
    def seconds_needed(self) -> float:
        """How long the whole body would have taken."""
        return self.length * self.seconds_per_byte


def send_trickled(handler: BaseHTTPRequestHandler, payload: Any, seconds_per_byte: float, app: Any) -> None:
    """A 200 with the headers at once and ``payload`` (JSON) one byte every ``seconds_per_byte``, until the
    client hangs up; its :class:`Trickle` goes into ``app.trickles`` as it starts and counts as it goes."""
    body = json.dumps(payload).encode()
    record = Trickle(0, len(body), seconds_per_byte)
    with app._lock:
        app.trickles.append(record)
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json; charset=UTF-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        handler.wfile.flush()
        for byte in body:
            if app._stopping.wait(seconds_per_byte):
                break
            handler.wfile.write(bytes([byte]))
            record.sent += 1
    except OSError:  # the client closed the connection (its deadline)
        pass
    handler.close_connection = True


def _json_number(value: float) -> str:
    """A JSON number: an integer without a fraction, else Python's shortest round-trip repr."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(float(value))


def _rate_headers() -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "200",
        "X-RateLimit-Remaining": "199",
        "X-RateLimit-Reset": str(int(time.time()) + 60),
    }


class _Handler(BaseHTTPRequestHandler):
    app: AlpacaDataServer
    server_version = "FakeAlpacaData/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send(
        self,
        status: int,
        payload: Any,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json; charset=UTF-8",
    ) -> None:
        data = (
            payload
            if isinstance(payload, bytes)
            else payload.encode()
            if isinstance(payload, str)
            else json.dumps(payload).encode()
        )
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.app.handle(self)


def embedded_market(benchmark_symbol: str = "SPY") -> pd.DataFrame:
    """The embedded real closes (20 stocks, 1990..2022-12-28) plus the embedded S&P 500 index as
    ``benchmark_symbol``: the same data the ``embedded`` provider serves, for like-for-like runs."""
    from momentum.providers.embedded import EmbeddedProvider

    provider = EmbeddedProvider()
    last = provider.last_session()
    index = provider.benchmark(None, last)
    spy = pd.DataFrame({"date": index.index, "symbol": benchmark_symbol, "adj_close": index.to_numpy(float)})
    return pd.concat([provider.bars(None, last), spy], ignore_index=True)


def sp500_market(
    as_of: str | pd.Timestamp,
    n_sessions: int = 273,
    seed: int = 11,
    benchmark_symbol: str = "SPY",
    extra: int = 0,
) -> pd.DataFrame:
    """Synthetic closes for every S&P 500 member at ``as_of`` (plus the benchmark and ``extra`` made-up
    names) over the ``n_sessions`` NYSE sessions ending at ``as_of``: a 1.5 %-vol random walk each,
    no gaps, no listings or delistings, so a live run on them passes validation."""
    from momentum.calendar import nyse_sessions
    from momentum.universe import sp500_members

    day = pd.Timestamp(as_of)
    symbols = [*sp500_members(day)["symbol"], benchmark_symbol, *(f"X{i:04d}" for i in range(extra))]
    sessions = nyse_sessions(day - pd.Timedelta(days=int(n_sessions * 1.6) + 30), day)[-n_sessions:]
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0003, 0.015, (len(sessions), len(symbols)))
    close = (rng.uniform(20, 300, len(symbols)) * np.exp(np.cumsum(steps, axis=0))).round(4)
    return pd.DataFrame(
        {
            "date": np.repeat(sessions.to_numpy(), len(symbols)),
            "symbol": np.tile(np.array(symbols, dtype=object), len(sessions)),
            "adj_close": close.ravel(),
        }
    )
