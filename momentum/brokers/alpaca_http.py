"""HTTP client of the Alpaca Trading API v2 for :class:`~momentum.brokers.alpaca.AlpacaBroker`.

Plain ``requests`` over HTTPS (plain http only to a loopback test server). The two API keys travel
only in the ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` request headers: they are never put on a
shared session, never logged, never part of an exception message (any text this client surfaces is
scrubbed of both keys). Redirects are not followed: one could carry the headers elsewhere.

* :meth:`TradingClient.send` is one exchange: a 5xx, timeout or connection error raises
  :class:`_OutcomeUnknown` (the broker may or may not have acted on it).
* :meth:`TradingClient.request` (reads and cancels) retries on 429, 5xx, timeouts and connection
  errors, at most ``max_retries`` times, then raises :class:`BrokerUnavailable`. A 429 waits for
  ``Retry-After`` (seconds or an HTTP date), else ``X-RateLimit-Reset`` (unix seconds), else
  exponential backoff. Any other 4xx raises :class:`BrokerError` with method, path, status and
  Alpaca's ``message``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from momentum.brokers.base import BrokerError, BrokerUnavailable
from momentum.http_retry import MAX_WAIT_SECONDS, backoff_seconds, rate_limit_wait

log = logging.getLogger("momentum.brokers.alpaca")  # the broker's logger: one name for all its records

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_TRANSIENT_EXC = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)


class _OutcomeUnknown(Exception):
    """Internal to the Alpaca adapter: a request whose outcome is unknown (timeout, connection error,
    5xx). It never leaves the adapter, which answers it with a lookup or :class:`BrokerUnavailable`."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def check_base_url(base_url: str) -> str:
    """The lower-case host of ``base_url``: https, or plain http only to a loopback host, and no
    credentials, query or fragment in the URL."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"AlpacaBroker base_url must be an https URL, got scheme {parts.scheme!r}")
    if parts.scheme != "https" and host not in _LOOPBACK:
        raise ValueError("AlpacaBroker refuses plain http to a non-loopback host (keys would leak)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("AlpacaBroker base_url must not carry credentials, a query or a fragment")
    return host


class TradingClient:
    """JSON over HTTPS to one Alpaca account: ``timeout`` seconds per request, ``max_retries``
    attempts after the first, ``backoff_seconds`` the first backoff (doubling per attempt)."""

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret_key: str,
        *,
        session: requests.Session | None,
        timeout: float,
        max_retries: int,
        backoff_seconds: float,
        sleep: Callable[[float], Any],
    ) -> None:
        if timeout <= 0 or max_retries < 0 or backoff_seconds < 0:
            raise ValueError("timeout must be > 0, max_retries and backoff_seconds >= 0")
        self.base_url = base_url
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_seconds = float(backoff_seconds)
        self._key_id = key_id
        self._secret_key = secret_key
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep

    def _headers(self) -> dict[str, str]:
        return {
            "APCA-API-KEY-ID": self._key_id,
            "APCA-API-SECRET-KEY": self._secret_key,
            "Accept": "application/json",
        }

    def scrub(self, text: str) -> str:
        """``text`` with both keys replaced by ``***``."""
        for secret in (self._secret_key, self._key_id):
            if secret:
                text = text.replace(secret, "***")
        return text

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange; 5xx and network failures become :class:`_OutcomeUnknown`."""
        try:
            resp = self._session.request(
                method,
                self.base_url + path,
                headers=self._headers(),
                timeout=self.timeout,
                allow_redirects=False,  # a redirect could carry our headers elsewhere
                **kwargs,
            )
        except _TRANSIENT_EXC as exc:
            raise _OutcomeUnknown(f"{type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise BrokerError(self.scrub(f"{method} {path}: {type(exc).__name__}: {exc}")) from None
        if resp.status_code >= 500:
            raise _OutcomeUnknown(f"HTTP {resp.status_code}: {self.error_message(resp)}")
        return resp

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        none_on_404: bool = False,
    ) -> Any:
        """GET/DELETE with bounded retries on 429/5xx/network errors; returns parsed JSON or None."""
        last = "no attempt made"
        for attempt in range(self.max_retries + 1):
            try:
                resp = self.send(method, path, params=params)
            except _OutcomeUnknown as unk:
                last = unk.description
                if attempt < self.max_retries:
                    log.warning("alpaca %s %s: %s; retrying", method, path, last)
                    self.pause(self.backoff(attempt))
                continue
            status = resp.status_code
            if status == 429:
                last = "HTTP 429"
                if attempt < self.max_retries:
                    self.wait_rate_limit(resp, attempt, method, path)
                continue
            if status == 404 and none_on_404:
                return None
            if status >= 400:
                raise BrokerError(f"{method} {path} -> {status}: {self.error_message(resp)}")
            if 300 <= status < 400:
                raise BrokerError(f"{method} {path} -> {status}: unexpected redirect")
            if status == 204 or not resp.content:
                return None
            return self.json(resp, method, path)
        raise BrokerUnavailable(
            f"{method} {path}: gave up after {self.max_retries + 1} attempts (last: {last})"
        )

    def get(self, path: str, *, params: Mapping[str, str] | None = None, none_on_404: bool = False) -> Any:
        """GET the parsed JSON; an empty body is an error unless ``none_on_404`` (then None)."""
        data = self.request("GET", path, params=params, none_on_404=none_on_404)
        if data is None and not none_on_404:
            raise BrokerError(f"GET {path}: empty response body")
        return data

    def json(self, resp: requests.Response, method: str, path: str) -> Any:
        """The parsed JSON body of ``resp``; malformed JSON raises :class:`BrokerError`."""
        try:
            return resp.json()
        except ValueError:
            raise BrokerError(
                f"{method} {path} -> {resp.status_code}: malformed JSON in response body"
            ) from None

    def error_message(self, resp: requests.Response) -> str:
        """Alpaca's ``message`` (and ``code``) of an error answer, else the start of its body; scrubbed."""
        try:
            data = resp.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            msg = data.get("message") or data.get("error")
            code = data.get("code")
            text = str(msg) if msg is not None else "no message"
            if code is not None:
                text = f"{text} (code {code})"
        else:
            text = (resp.text or "").strip()[:200] or "no message"
        return self.scrub(text)

    # ------------------------------------------------------------------ waiting

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt``: ``backoff_seconds * 2**attempt``, jittered."""
        return backoff_seconds(self.backoff_seconds, attempt)

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` (nothing when 0)."""
        if seconds > 0:
            self._sleep(seconds)

    def wait_rate_limit(self, resp: requests.Response, attempt: int, method: str, path: str) -> None:
        """After a 429: wait what the headers ask (else the backoff), capped at ``MAX_WAIT_SECONDS``."""
        wait = rate_limit_wait(resp.headers, time.time())
        if wait is None:
            wait = self.backoff(attempt)
        wait = min(MAX_WAIT_SECONDS, max(0.0, wait))
        log.warning("alpaca %s %s: rate limited (429); waiting %.2fs", method, path, wait)
        self.pause(wait)
