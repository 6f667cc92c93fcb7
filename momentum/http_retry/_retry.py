"""What every HTTP adapter shares: its time policy, deadlines, rate-limit headers, jittered backoff and
client-side pacing.

Pure helpers (no HTTP here; the exchange under a deadline is in ``_deadline``): the Alpaca
broker (``momentum.brokers.alpaca``) and the Alpaca market-data client (``momentum.providers.alpaca_http``)
both wait with them. Times are seconds.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

MAX_WAIT_SECONDS = 60.0  # cap on any single wait (Retry-After / rate-limit reset / backoff)


@dataclass(frozen=True)
class HttpPolicy:
    """How an adapter spends time on its requests.

    ``timeout`` bounds connecting and each wait for the next bytes; ``attempt_seconds`` one whole exchange
    (connect, headers and body: a server that trickles is cut off); ``operation_seconds`` everything one
    operation sends (its retries, its pages); ``max_retries`` attempts after the first; ``backoff`` the
    first pause between attempts (doubling, jittered); ``sleep`` how to pause (tests record instead).
    """

    timeout: float = 10.0
    attempt_seconds: float = 30.0
    operation_seconds: float = 120.0
    max_retries: int = 4
    backoff: float = 0.5
    sleep: Callable[[float], Any] = time.sleep

    def __post_init__(self) -> None:
        if min(self.timeout, self.attempt_seconds, self.operation_seconds) <= 0:
            raise ValueError("timeout, attempt_seconds and operation_seconds must be > 0")
        if self.max_retries < 0 or self.backoff < 0:
            raise ValueError("max_retries and backoff must be >= 0")

    def operation(self) -> "Deadline":
        """The deadline of one operation starting now."""
        return Deadline(self.operation_seconds)

    def attempt_budget(self, deadline: "Deadline") -> float:
        """Seconds the next attempt may take: the attempt's own bound, within what the operation has left."""
        return min(self.attempt_seconds, deadline.remaining())


class Deadline:
    """A point in (monotonic) time after which an operation stops trying."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = float(seconds)
        self._clock = clock
        self._end = clock() + self.seconds

    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self._end - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds a 429 asks us to wait: ``Retry-After`` (seconds or an HTTP date), else
    ``X-RateLimit-Reset`` (unix seconds) minus ``now``; None when neither header is usable."""
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            value = float(retry_after)
            if math.isfinite(value):
                return max(0.0, value)
        except ValueError:
            try:
                when = parsedate_to_datetime(retry_after)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                return max(0.0, when.timestamp() - now)
            except (TypeError, ValueError, IndexError):
                pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        if math.isfinite(value):
            return max(0.0, value - now)
    return None


def backoff_seconds(base: float, attempt: int, cap: float = MAX_WAIT_SECONDS) -> float:
    """Exponential backoff with up to 10 % jitter: ``base * 2**attempt``, capped at ``cap``."""
    return min(cap, base * (2**attempt) * (1 + 0.1 * random.random()))


class Pacer:
    """Client-side pacing: at most ``per_minute`` requests in any 60-second window (thread-safe).

    ``wait()`` before each request sleeps just long enough to stay under the limit.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.per_minute = int(per_minute)
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until a request may go out; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            while self._sent and now - self._sent[0] >= 60.0:
                self._sent.popleft()
            waited = 0.0
            if len(self._sent) >= self.per_minute:
                waited = 60.0 - (now - self._sent[0])
                self._sleep(waited)
                self._sent.popleft()
                now = self._clock()
            self._sent.append(now)
            return waited
