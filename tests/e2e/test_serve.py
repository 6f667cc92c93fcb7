"""``momentum serve`` stops when a process of its stack exits, and says which one."""

from __future__ import annotations

import subprocess
import sys
import threading

from momentum_cli.local_stack import LocalStack
from momentum_cli.serve_cmd import watch


def _python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL)


def test_watch_names_the_process_that_exited_and_its_status(tmp_path):
    stack = LocalStack(home=tmp_path / "home", store_url=str(tmp_path / "store"))
    stack.processes["server"] = _python("import time; time.sleep(60)")
    stack.processes["worker"] = _python("raise SystemExit(3)")
    try:
        assert watch(stack, threading.Event(), poll_seconds=0.05) == ("worker", 3)
    finally:
        stack.processes["server"].kill()
        stack.processes["server"].wait()


def test_watch_returns_nothing_once_asked_to_stop(tmp_path):
    stack = LocalStack(home=tmp_path / "home", store_url=str(tmp_path / "store"))
    stack.processes["server"] = _python("import time; time.sleep(60)")
    stopping = threading.Event()
    threading.Timer(0.2, stopping.set).start()
    try:
        assert watch(stack, stopping, poll_seconds=0.05) is None
    finally:
        stack.processes["server"].kill()
        stack.processes["server"].wait()
