"""How the HTTP adapters spend time: retries with jittered backoff, rate-limit waits, pacing, and the
deadlines that bound one exchange (a trickling server is cut off) and one whole operation."""

from __future__ import annotations

from momentum.http_retry._deadline import AttemptDeadline, exchange, watch_deadlines
from momentum.http_retry._retry import (
    MAX_WAIT_SECONDS,
    Deadline,
    HttpPolicy,
    Pacer,
    backoff_seconds,
    rate_limit_wait,
)

__all__ = [
    "MAX_WAIT_SECONDS",
    "AttemptDeadline",
    "Deadline",
    "HttpPolicy",
    "Pacer",
    "backoff_seconds",
    "exchange",
    "rate_limit_wait",
    "watch_deadlines",
]
