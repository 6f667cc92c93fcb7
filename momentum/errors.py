"""The bot's error classes: what went wrong decides what the bot does next.

- :class:`TransientError`: a service was briefly unavailable (timeout, connection reset, HTTP 429/5xx).
  The bot retries it: the adapter that talks to the service retries its own calls (bounded, jittered
  backoff); a stage task retries only these, and only where no adapter retries under it.
- :class:`PermanentError`: bad data, bad configuration, a refused request (HTTP 4xx), a safety guard.
  The bot stops the run and reports one line saying what, where and how to fix it; nothing is retried.

One retry layer per call: an adapter that retries its own requests (the Alpaca broker, the Alpaca
market-data client) raises a PermanentError once its retries are spent, so no task retries on top.
Each module's errors live next to it, all under these two: ``brokers.base`` (BrokerError,
BrokerUnavailable, DuplicateOrderError), ``brokers`` (LiveTradingRefused, MissingBrokerKeys),
``guards`` (GuardError), ``calendar`` (OutsideCalendar, InvalidAsOf), ``universe_file``
(UniverseFileError), ``providers.alpaca_wire`` (MarketDataError, InvalidSymbolError), ``providers.files``
(BarsFileError), ``membership_freshness`` (MembershipTooOld), ``history_update`` (NoHistoryError),
``store_objects`` (StoreError), ``tasks.validate`` (ValidationFailed).
"""

from __future__ import annotations

import os


class MomentumError(RuntimeError):
    """Root of every error the bot raises on purpose; its message reads ``<what>, <where> (<fix>)``."""

    def __init__(self, what: str, where: str | None = None, fix: str | None = None) -> None:
        self.what, self.where, self.fix = what, where, fix
        super().__init__(what + (f", {where}" if where else "") + (f" ({fix})" if fix else ""))


class TransientError(MomentumError):
    """Retried: the same call may succeed in a moment."""


class PermanentError(MomentumError):
    """Not retried: the run stops and reports this error's one-line message."""


def s3_problem(exc: BaseException) -> tuple[str, str] | None:
    """(what is missing, how to fix it) for the S3 failures a user can fix, else None."""
    name = type(exc).__name__
    if name in {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return "no AWS credentials", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
    if name in {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"} or isinstance(
        exc, (ConnectionError, TimeoutError)
    ):
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "the AWS default endpoint")
        return f"cannot reach the S3 endpoint ({endpoint})", "check AWS_ENDPOINT_URL and the network"
    if isinstance(exc, FileNotFoundError) or "NoSuchBucket" in str(exc):
        return (
            "the bucket does not exist",
            "create it, or point --store / MOMENTUM_STORE_URL at an existing one",
        )
    if isinstance(exc, PermissionError) or "AccessDenied" in str(exc) or "InvalidAccessKeyId" in str(exc):
        return "access denied", "check the AWS credentials and the bucket policy"
    return None
