"""A stand-in HTTP server on loopback: real HTTP on 127.0.0.1 (a free port), served from a thread.

The stand-ins (``alpaca_server``, ``alpaca_data_server``) inherit its lifecycle: ``start`` / ``stop`` (or
``with``), ``base_url``; a request goes to their handler class, bound to the server instance as ``app``.
``_lock`` guards their state; ``_stopping`` is set by ``stop`` and wakes a handler sleeping in a fault.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that timed out and hung up makes the delayed write fail: expected, not noise.
        pass


class LoopbackServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._handler = handler
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        bound = type(f"_Bound{self._handler.__name__}", (self._handler,), {"app": self})
        self._httpd = _Server(("127.0.0.1", 0), bound)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes any handler sleeping in a delay fault
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"
