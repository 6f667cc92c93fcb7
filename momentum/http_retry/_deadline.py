"""One HTTP exchange that ends within a total deadline: connect, headers and body.

``requests``' ``timeout`` bounds connecting and each wait for the next bytes, not the request: a server
that sends its headers and then one byte every 2 s keeps a plain ``session.get`` alive forever. Here a
watchdog timer shuts the socket of the exchange in flight when its budget runs out, which unblocks any
read (headers or body); the exchange then raises :class:`AttemptDeadline`, a ``requests.Timeout``, so
an adapter handles it like any other timeout (retried, or for an order POST: outcome unknown).

The socket is found through the connection classes of a session's adapter: :func:`watch_deadlines`
mounts them on a session (http and https).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

from momentum.errors import TransientError

_CURRENT = threading.local()  # the watchdog of the exchange this thread has in flight


class AttemptDeadline(requests.Timeout, TransientError):
    """One exchange got no complete answer within its budget (the connection was closed): a timeout,
    which the adapter retries within its operation's deadline (an order POST: looked up first)."""

    def __init__(self, seconds: float) -> None:
        TransientError.__init__(self, f"no complete answer within {seconds:g} s")
        self.response = self.request = None  # what requests' exceptions carry


class _Watchdog:
    """Shuts the socket of the exchange in flight once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def attach(self, conn: HTTPConnection) -> None:
        """The connection the exchange uses (called again once it is connected). Its socket is kept:
        http.client drops the connection's reference to it while a response still reads from it."""
        with self._lock:
            self._sock = conn.sock or self._sock
            if self.fired:
                self._shut()

    def finish(self) -> None:
        """The answer is complete: a late timer leaves it alone."""
        with self._lock:
            self._done = True

    def _fire(self) -> None:
        with self._lock:
            if not self._done:
                self.fired = True
                self._shut()

    def _shut(self) -> None:
        if self._sock is not None:
            try:
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)  # the plain socket's: safe under TLS
            except OSError:
                pass

    def __enter__(self) -> "_Watchdog":
        _CURRENT.watch = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _CURRENT.watch = None


class _Watched:
    """A urllib3 connection that shows itself to the watchdog of the exchange using it."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watch = getattr(_CURRENT, "watch", None)
        if watch is not None:
            watch.attach(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        watch = getattr(_CURRENT, "watch", None)
        if watch is not None:
            watch.attach(self)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def watch_deadlines(session: requests.Session | None = None) -> requests.Session:
    """``session`` (a new one when None) with connections the deadline watchdog can close."""
    session = session if session is not None else requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, _DeadlineAdapter())
    return session


def exchange(
    session: requests.Session, method: str, url: str, *, seconds: float, timeout: float, **kwargs: Any
) -> requests.Response:
    """One request, its body read, within ``seconds`` in total; else :class:`AttemptDeadline`.

    ``timeout`` bounds connecting and each wait for bytes, as in ``requests``, when it is the shorter.
    """
    if seconds <= 0:
        raise AttemptDeadline(0)
    with _Watchdog(seconds) as watch:
        resp = None
        try:
            wait = timeout if timeout < seconds else seconds + 1  # past the budget: the watchdog ends it
            resp = session.request(method, url, timeout=wait, stream=True, **kwargs)
            resp.content  # noqa: B018 - read the whole body under the watchdog
            watch.finish()
        except requests.RequestException:
            if watch.fired:
                raise AttemptDeadline(seconds) from None
            raise
        finally:
            if resp is not None and watch.fired:
                resp.close()
    if watch.fired:  # the socket was shut before the answer was complete: a short body proves nothing
        raise AttemptDeadline(seconds)
    return resp
