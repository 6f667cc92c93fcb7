"""A loopback webhook: the endpoint a notification block POSTs to, recording each JSON body; and
``momentum automations`` run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from momentum_cli.local_stack import REPO_ROOT


class Webhook:
    """A loopback HTTP endpoint that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not self.bodies and time.monotonic() < deadline:
            time.sleep(0.25)
        return self.bodies

    def wait_for(self, matches: Callable[[dict], bool], what: str, timeout: float = 60) -> dict:
        """The first body that ``matches``, waiting for it up to ``timeout`` seconds; fails naming
        ``what`` was expected and what arrived instead."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [body for body in list(self.bodies) if matches(body)]
            if found:
                return found[0]
            time.sleep(0.25)
        raise AssertionError(f"no {what} reached the webhook within {timeout} s; received: {self.bodies}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def automations(env: dict[str, str], *args: str) -> dict:
    """``momentum automations ARGS`` in a new process (as a user sets notifications up) against the
    Prefect API of ``env``: the JSON it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "momentum_cli", "automations", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
