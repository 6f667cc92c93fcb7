"""HTTP client of the Alpaca Trading API v2 for :class:`~momentum.brokers.alpaca.AlpacaBroker`.

Plain ``requests`` over HTTPS (plain http only to a loopback test server). The two API keys travel
only in the ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` request headers: they are never put on a
shared session, never logged, never part of an exception message (any text this client surfaces is
scrubbed of both keys). Redirects are not followed: one could carry the headers elsewhere.

* :meth:`TradingClient.send` is one exchange, bounded in total by the policy's ``attempt_seconds``
  (connect, headers and body: a server that trickles is cut off): a 5xx, timeout, connection error or
  an exchange cut off by its deadline raises :class:`_OutcomeUnknown` (the broker may or may not have
  acted on it).
* :meth:`TradingClient.request` (reads and cancels) retries on 429, 5xx, timeouts and connection
  errors, at most ``max_retries`` times and within the operation's ``operation_seconds``, then raises
  :class:`BrokerUnavailable` naming the endpoint. A 429 waits for ``Retry-After`` (seconds or an HTTP
  date), else ``X-RateLimit-Reset`` (unix seconds), else exponential backoff. Any other 4xx raises
  :class:`BrokerError` with method, path, status and Alpaca's ``message``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from momentum.brokers.base import BrokerError, BrokerUnavailable
from momentum.http_retry import (
    MAX_WAIT_SECONDS,
    AttemptDeadline,
    Deadline,
    HttpPolicy,
    backoff_seconds,
    exchange,
    rate_limit_wait,
    watch_deadlines,
)

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
    """JSON over HTTPS to one Alpaca account, on the time budget of ``policy``."""

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret_key: str,
        *,
        session: requests.Session | None,
        policy: HttpPolicy,
    ) -> None:
        self.base_url = base_url
        self.host = urlsplit(base_url).netloc  # the endpoint named in errors (never a key)
        self.policy = policy
        self.max_retries = policy.max_retries
        self._key_id = key_id
        self._secret_key = secret_key
        self._session = watch_deadlines(session)

    def endpoint(self, method: str, path: str) -> str:
        """``METHOD host/path``: how errors name a request (no query, no key)."""
        return f"{method} {self.host}{path}"

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

    def send(self, method: str, path: str, deadline: Deadline, **kwargs: Any) -> requests.Response:
        """One HTTP exchange within the attempt's budget; 5xx and network failures (a deadline
        included) become :class:`_OutcomeUnknown`."""
        try:
            resp = exchange(
                self._session,
                method,
                self.base_url + path,
                seconds=self.policy.attempt_budget(deadline),
                timeout=self.policy.timeout,
                headers=self._headers(),
                allow_redirects=False,  # a redirect could carry our headers elsewhere
                **kwargs,
            )
        except AttemptDeadline as exc:
            log.warning("alpaca %s: %s; closed the connection", self.endpoint(method, path), exc)
            raise _OutcomeUnknown(str(exc)) from None
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
        last, deadline, attempts = "no attempt made", self.policy.operation(), 0
        while attempts <= self.max_retries and not deadline.expired:
            attempts += 1
            try:
                resp = self.send(method, path, deadline, params=params)
            except _OutcomeUnknown as unk:
                last = unk.description
                if attempts <= self.max_retries:
                    log.warning("alpaca %s: %s; retrying", self.endpoint(method, path), last)
                    self.pause(self.backoff(attempts - 1), deadline)
                continue
            status = resp.status_code
            if status == 429:
                last = "HTTP 429"
                if attempts <= self.max_retries:
                    self.wait_rate_limit(resp, attempts - 1, f"{method} {path}", deadline)
                continue
            if status == 404 and none_on_404:
                return None
            if status >= 400:
                raise BrokerError(f"{method} {path} -> {status}: {self.error_message(resp)}")
            if 300 <= status < 400:
                raise BrokerError(f"{method} {path} -> {status}: unexpected redirect")
            return None if status == 204 or not resp.content else self.json(resp, method, path)
        raise BrokerUnavailable(self.gave_up(self.endpoint(method, path), attempts, last, deadline))

    def gave_up(self, endpoint: str, attempts: int, last: str, deadline: Deadline) -> str:
        """Why an operation stopped trying: its attempts, or its deadline, and the last failure."""
        spent = f" in the {deadline.seconds:g} s it may take" if deadline.expired else ""
        return f"{endpoint}: gave up after {attempts} attempts{spent} (last: {last})"

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
        return backoff_seconds(self.policy.backoff, attempt)

    def pause(self, seconds: float, deadline: Deadline) -> None:
        """Sleep ``seconds`` (nothing when 0), never past ``deadline``."""
        seconds = min(seconds, deadline.remaining())
        if seconds > 0:
            self.policy.sleep(seconds)

    def wait_rate_limit(self, resp: requests.Response, attempt: int, what: str, deadline: Deadline) -> None:
        """After a 429: wait what the headers ask (else the backoff), capped at ``MAX_WAIT_SECONDS``."""
        wait = rate_limit_wait(resp.headers, time.time())
        if wait is None:
            wait = self.backoff(attempt)
        wait = min(MAX_WAIT_SECONDS, max(0.0, wait))
        log.warning("alpaca %s: rate limited (429); waiting %.2fs", what, wait)
        self.pause(wait, deadline)
