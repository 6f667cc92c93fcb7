"""The Prefect API of the command line's flow runs, and no orphan left behind.

* ``PREFECT_API_URL`` set (a running ``prefect server``, ``momentum serve``, a test harness): used as is.
* Otherwise a temporary server of this process's own replaces Prefect's ephemeral mode: the same
  uvicorn app Prefect's ephemeral mode starts, on a free loopback port, started under a lock in
  ``PREFECT_HOME`` (two runs at once never both migrate the database nor race for a port) with a long
  startup timeout, and stopped at the end. On Linux the kernel kills it when this process dies
  (``PR_SET_PDEATHSIG``): a SIGKILL of ``momentum run`` leaves no server behind.
* Every flow run started here is tagged with this process (host, pid and start time); before running,
  flow runs still RUNNING or PENDING whose process on this host is gone are set Crashed.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from momentum.errors import PermanentError
from momentum.store import process_started
from momentum_cli.local_stack import free_port

STARTUP_SECONDS = 120.0  # a fresh database on a busy machine, or waiting for another run's server start
STOP_SECONDS = 10.0
HOST_TAG = "momentum-host:"
PROCESS_TAG = "momentum-process:"  # pid/start time (clock ticks since boot): a reused pid is not alive
_PR_SET_PDEATHSIG = 1


def process_tags(pid: int | None = None) -> tuple[str, str]:
    """The tags naming this process (or ``pid``) on this host."""
    pid = pid or os.getpid()
    return f"{HOST_TAG}{socket.gethostname()}", f"{PROCESS_TAG}{pid}/{process_started(pid)}"


def process_alive(tag: str) -> bool:
    """Whether the process a :data:`PROCESS_TAG` tag names still runs on this host."""
    pid, _, started = tag.removeprefix(PROCESS_TAG).partition("/")
    return pid.isdigit() and process_started(int(pid)) == started


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking the kernel to SIGKILL the child when ``parent`` dies (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return die_with_parent


class TemporaryServer:
    """Prefect's API app under uvicorn on a free loopback port, a child that dies with this process."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self, timeout: float = STARTUP_SECONDS) -> "TemporaryServer":
        self.home.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        with open(self.home / "momentum-server-start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one server start at a time per PREFECT_HOME
            self.port = free_port()
            self.process = self._spawn()
            while not self._healthy():
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise self._failed(timeout)
                time.sleep(0.2)
        return self

    def _spawn(self) -> subprocess.Popen:
        import prefect
        from prefect.settings import get_current_settings

        settings = get_current_settings().to_environment_variables(exclude_unset=True)
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",  # what Prefect's own ephemeral server runs with
            "PREFECT__SERVER_FINAL": "1",
            # this process's settings, but its database in PREFECT_HOME unless the environment names one
            **{k: v for k, v in settings.items() if "_DATABASE_" not in k or k in os.environ},
            "PREFECT_HOME": str(self.home),
        }
        app = ["--factory", "prefect.server.api.server:create_app", "--lifespan", "on"]
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), *app]
            + ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(os.getpid()),  # noqa: PLW1509 - sets one kernel flag, nothing else
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def _failed(self, timeout: float) -> PermanentError:
        self._log.seek(0)
        last = (self._log.read().decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        return PermanentError(
            f"the temporary Prefect server did not start within {timeout:g} s ({last[:200]})",
            f"127.0.0.1:{self.port}, PREFECT_HOME {self.home}",
            "run `prefect server start` and set PREFECT_API_URL to it",
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after :data:`STOP_SECONDS`."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def mark_crashed_runs() -> list[str]:
    """Set Crashed every RUNNING or PENDING flow run tagged with a process of this host that is gone;
    returns their ids."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    host_tag = process_tags()[0]
    unfinished = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])),
        tags=FlowRunFilterTags(all_=[host_tag]),
    )
    crashed = []
    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=unfinished, limit=200):
            tag = next((t for t in run.tags if t.startswith(PROCESS_TAG)), None)
            if tag is None or process_alive(tag):
                continue
            pid = tag.removeprefix(PROCESS_TAG).split("/")[0]
            message = f"its process ({pid} on {host_tag.removeprefix(HOST_TAG)}) is gone"
            client.set_flow_run_state(run.id, Crashed(message=message), force=True)
            crashed.append(str(run.id))
    return crashed


def _deliver_logs_and_events(timeout: float = 10) -> None:
    """Send the run's queued logs and events while the server still listens."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=timeout)
    EventsWorker.drain_all(timeout=timeout)


@contextlib.contextmanager
def flow_runs_api() -> Iterator[str]:
    """A Prefect API for this process's flow runs (see the module doc); yields its URL."""
    from prefect import tags
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    with contextlib.ExitStack() as stack:
        url = PREFECT_API_URL.value()
        if not url:
            server = TemporaryServer(Path(PREFECT_HOME.value()).expanduser()).start()
            stack.callback(server.stop)
            stack.enter_context(temporary_settings(updates={PREFECT_API_URL: server.api_url}))
            stack.callback(_deliver_logs_and_events)  # before the server stops (callbacks run last-in first)
            url = server.api_url
        mark_crashed_runs()
        stack.enter_context(tags(*process_tags()))
        yield url
