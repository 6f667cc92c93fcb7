"""The bot's error classes: what went wrong decides what the bot does next.

- :class:`TransientError`: a service was briefly unavailable and the same work may succeed in a moment.
  A stage task (ingest, ingest-benchmark, validate, score, plan, ingest-history: each safe to run again,
  it looks up what is committed before it writes) retries it, 3 times over about 20 seconds.
- :class:`PermanentError`: bad data, bad configuration, a refused request (HTTP 4xx), a safety guard.
  The bot stops the run and reports one line saying what, where and how to fix it; nothing is retried.

The retry rule, one layer per failure:

- A client that retries its own requests gives up with a PermanentError: the Alpaca broker and market-data
  clients (bounded, jittered backoff over their HTTP calls). No task retries on top of them.
- Storage (the store and the ``files`` provider, over s3fs) retries a request for a few seconds only;
  an error it then reports as temporary (:func:`is_transient_io`: S3 throttling, 5xx, a timeout, a
  dropped connection) is raised as a TransientError, and the stage task retries the stage.
- The execute and account tasks are never retried (they talk to the broker): a failed run is re-run and
  finds every order already sent by its id.

Each module's errors live next to it, all under these two: ``brokers.base`` (BrokerError,
BrokerUnavailable, DuplicateOrderError), ``brokers`` (LiveTradingRefused, MissingBrokerKeys),
``execution`` (GuardError), ``calendar`` (OutsideCalendar, InvalidAsOf), ``universe``
(UniverseFileError, MembershipTooOld), ``providers.alpaca_wire`` (MarketDataError, InvalidSymbolError),
``providers.files`` (BarsFileError), ``history`` (NoHistoryError), ``store`` (StoreError,
CorruptVersion, LeaseHeld, VersionConflict), ``tasks.validate`` (ValidationFailed).
"""

from __future__ import annotations

import errno
import os

# what s3fs makes of S3's temporary answers: 503 SlowDown / ServiceUnavailable, 500 InternalError
_TEMPORARY = frozenset(
    {
        errno.EBUSY,
        getattr(errno, "EREMOTEIO", errno.EIO),
        errno.ETIMEDOUT,
        errno.ECONNRESET,
        errno.ECONNABORTED,
    }
)


class MomentumError(RuntimeError):
    """Root of every error the bot raises on purpose; its message reads ``<what>, <where> (<fix>)``."""

    def __init__(self, what: str, where: str | None = None, fix: str | None = None) -> None:
        self.what, self.where, self.fix = what, where, fix
        super().__init__(what + (f", {where}" if where else "") + (f" ({fix})" if fix else ""))


class TransientError(MomentumError):
    """Retried: the same call may succeed in a moment."""


class PermanentError(MomentumError):
    """Not retried: the run stops and reports this error's one-line message."""


def is_transient_io(exc: BaseException) -> bool:
    """True for a storage failure a later attempt may get past: a timeout, a reset or aborted connection,
    S3 throttling or a 5xx (s3fs raises them as ``OSError`` with errno EBUSY or EREMOTEIO). A missing
    object, a refused permission, an unreachable endpoint (a wrong URL) are not."""
    if isinstance(exc, (TimeoutError, ConnectionResetError, ConnectionAbortedError)):
        return True
    return isinstance(exc, OSError) and exc.errno in _TEMPORARY


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
