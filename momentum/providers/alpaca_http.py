"""HTTP client of Alpaca Market Data v2: keys in headers only, bounded retries, client-side pacing.

* Every exchange ends within the policy's ``attempt_seconds`` in total (a server that sends its headers
  and then trickles the body is cut off: a timeout), and one operation (a request's retries, a chain of
  pages: :meth:`MarketDataClient.operation`) within ``operation_seconds``.
* 429 (with or without ``X-RateLimit-*`` / ``Retry-After``), 5xx, timeouts and connection errors are
  retried at most ``max_retries`` times with jittered exponential backoff (a 429 waits until
  ``X-RateLimit-Reset`` when given). Once they are exhausted, or the operation's deadline passed, it raises
  :class:`MarketDataError`, a :class:`~momentum.errors.PermanentError` naming the endpoint (host and
  path): this client is the only retry layer of a data request.
* 400 ``invalid symbol: X`` raises :class:`InvalidSymbolError` (the provider drops X and asks again);
  401 (often an HTML page), 403 and every other 4xx raise :class:`MarketDataError` in one line.
* A :class:`~momentum.http_retry.Pacer` keeps the client under the plan's 200 requests per minute.
* The keys travel only in the ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` headers of each request:
  every text this client surfaces is scrubbed of both, and ``repr`` never shows them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from momentum.http_retry import (
    MAX_WAIT_SECONDS,
    AttemptDeadline,
    Deadline,
    HttpPolicy,
    Pacer,
    backoff_seconds,
    exchange,
    rate_limit_wait,
    watch_deadlines,
)
from momentum.providers.alpaca_wire import InvalidSymbolError, MarketDataError, invalid_symbol

log = logging.getLogger(__name__)

PLAN_REQUESTS_PER_MINUTE = 190  # the free plan allows 200; keep a margin for other clients of the key
SHARED_PACER = Pacer(
    PLAN_REQUESTS_PER_MINUTE
)  # one budget for every client of the process (all of a run's tasks)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_RETRIED = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
_HINTS = {
    401: "check MOMENTUM_ALPACA_KEY_ID and MOMENTUM_ALPACA_SECRET_KEY "
    "(a market-data key pair, see docs/data.md)",
    403: "the plan does not allow this request; the free plan serves sip data older than 15 minutes",
}


def check_data_url(url: str) -> str:
    """The base URL without a trailing slash; https, or plain http only to a loopback test server."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise MarketDataError(f"alpaca_data_url must be an https URL, got {url[:60]!r}")
    if parts.scheme != "https" and host not in _LOOPBACK:
        raise MarketDataError(
            "alpaca_data_url refuses plain http to a non-loopback host (the keys would leak)"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise MarketDataError("alpaca_data_url must not carry credentials, a query or a fragment")
    return url.rstrip("/")


class MarketDataClient:
    """GET JSON from the data API; ``requests_sent`` counts HTTP requests (retries included)."""

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret_key: str,
        *,
        policy: HttpPolicy | None = None,
        pacer: Pacer | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if not key_id or not secret_key:
            raise MarketDataError("the Alpaca data API needs both a key id and a secret key")
        self.base_url = check_data_url(base_url)
        self.host = urlsplit(self.base_url).netloc  # the endpoint named in errors (never a key)
        self.policy = policy or HttpPolicy()
        self._keys = (key_id, secret_key)
        self._pacer = pacer or SHARED_PACER
        self._session = watch_deadlines(session)
        self.requests_sent = 0

    def operation(self) -> Deadline:
        """The deadline of one operation (a request and its retries, or a chain of pages) starting now."""
        return self.policy.operation()

    def __repr__(self) -> str:
        return f"MarketDataClient(base_url={self.base_url!r}, key_id='***')"

    def scrub(self, text: str) -> str:
        """``text`` with both keys replaced by ``***``, on one line."""
        for secret in self._keys:
            text = text.replace(secret, "***")
        return " ".join(text.split())

    def get(self, path: str, params: Mapping[str, str], what: str, deadline: Deadline | None = None) -> Any:
        """The parsed JSON of ``GET path?params`` within ``deadline`` (default: an operation of its own);
        ``what`` names the request in errors (no key)."""
        deadline = deadline or self.operation()
        last, attempts, policy = "no attempt made", 0, self.policy
        while attempts <= policy.max_retries and not deadline.expired:
            if attempts:
                log.warning("alpaca data %s: %s; retry %d of %d", what, last, attempts, policy.max_retries)
            attempts += 1
            resp, last = self._send(path, params, what, deadline)
            if resp is not None and resp.status_code != 429 and resp.status_code < 500:
                return self._answer(resp, what)
            self._pause(self._wait_after(resp, attempts - 1), deadline)
        spent = f" in the {deadline.seconds:g} s it may take" if deadline.expired else ""
        raise MarketDataError(
            f"{what}: gave up after {attempts} attempts{spent} (last: {last}), at {self.host}{path}",
            fix="the data API is unavailable or stalled; run again later",
        )

    def _send(
        self, path: str, params: Mapping[str, str], what: str, deadline: Deadline
    ) -> tuple[requests.Response | None, str]:
        """One exchange: (response, status text), or (None, reason) on a timeout or connection error."""
        self._pacer.wait()
        self.requests_sent += 1
        headers = {
            "APCA-API-KEY-ID": self._keys[0],
            "APCA-API-SECRET-KEY": self._keys[1],
            "Accept": "application/json",
        }
        try:
            resp = exchange(
                self._session,
                "GET",
                self.base_url + path,
                seconds=self.policy.attempt_budget(deadline),
                timeout=self.policy.timeout,
                params=dict(params),
                headers=headers,
                allow_redirects=False,
            )
        except AttemptDeadline as exc:
            log.warning("alpaca data GET %s%s: %s; closed the connection", self.host, path, exc)
            return None, str(exc)
        except _RETRIED as exc:
            return None, type(exc).__name__
        except requests.RequestException as exc:
            raise MarketDataError(self.scrub(f"{what}: {type(exc).__name__}: {exc}")) from None
        return resp, f"HTTP {resp.status_code}"

    def _answer(self, resp: requests.Response, what: str) -> Any:
        status = resp.status_code
        if status == 200:
            try:
                return resp.json()
            except ValueError:
                raise MarketDataError(f"{what} -> 200: the body is not JSON ({self._body(resp)})") from None
        message = self._message(resp)
        if status == 400 and (symbol := invalid_symbol(message)):
            raise InvalidSymbolError(symbol, f"{what} -> 400: {message}")
        hint = _HINTS.get(status, "the request was refused")
        raise MarketDataError(f"{what} -> {status}: {message} ({hint})")

    def _body(self, resp: requests.Response) -> str:
        text = self.scrub(resp.text or "")
        return repr(text[:60]) if text else "empty"

    def _message(self, resp: requests.Response) -> str:
        """Alpaca's ``message`` (and ``code``) from a JSON error body, else a note on the body (HTML...)."""
        try:
            data = resp.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("message") is not None:
            code = f" (code {data['code']})" if data.get("code") is not None else ""
            return self.scrub(f"{str(data['message'])[:200]}{code}")
        if (
            "html" in (resp.headers.get("Content-Type") or "").lower()
            or "<html" in (resp.text or "")[:200].lower()
        ):
            return "an HTML page"
        return f"a non-JSON body {self._body(resp)}"

    def _wait_after(self, resp: requests.Response | None, attempt: int) -> float:
        """Seconds to wait after a failed attempt: what a 429 asks (capped), else the backoff."""
        wait = (
            rate_limit_wait(resp.headers, time.time())
            if resp is not None and resp.status_code == 429
            else None
        )
        return backoff_seconds(self.policy.backoff, attempt) if wait is None else min(MAX_WAIT_SECONDS, wait)

    def _pause(self, seconds: float, deadline: Deadline) -> None:
        seconds = min(seconds, deadline.remaining())
        if seconds > 0:
            self.policy.sleep(seconds)
