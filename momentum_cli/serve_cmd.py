"""``momentum serve``: a local Prefect server, the work pool, a worker and the deployments in one step
(:class:`momentum_cli.local_stack.LocalStack`)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Optional

import typer

from momentum.errors import PermanentError
from momentum_cli.local_stack import DEPLOYMENTS, FLOW, POOL, LocalStack


def serve(
    port: int = typer.Option(4200, "--port", help="Port of the Prefect server and UI (loopback)"),
    store: Optional[str] = typer.Option(
        None, "--store", help="Store URL for the runs (default: MOMENTUM_STORE_URL or ./momentum-store)"
    ),
    home: Path = typer.Option(
        Path("~/.momentum/prefect"),
        "--home",
        help="PREFECT_HOME of the local server: its SQLite database, results and logs (kept across restarts)",
    ),
    poll_seconds: float = typer.Option(5.0, "--poll-seconds", help="How often the worker polls for runs"),
) -> None:
    """Start a local Prefect server + UI, the momentum-local work pool, the deployments and a worker.

    Runs until Ctrl-C, then stops the worker and the server. Point the prefect CLI at it with
    PREFECT_API_URL=http://127.0.0.1:PORT/api.
    """
    from momentum_cli.preflight import check_serve

    settings = check_serve(store)  # keys excepted: a deployment may load them from Secret blocks
    stack = LocalStack(
        home=home.expanduser(),
        store_url=settings.store_url,
        port=port,
        worker_poll_seconds=poll_seconds,
    )
    typer.echo(f"starting a Prefect server on {stack.ui_url} (PREFECT_HOME={stack.home}) ...")
    stopping = _stop_on_sigterm()
    exited = None
    try:
        stack.start()
        typer.echo(_banner(stack))
        exited = watch(stack, stopping)
    except KeyboardInterrupt:
        pass
    finally:
        typer.echo("stopping the worker and the server ...")
        stack.stop()
    if exited is not None:
        name, status = exited
        raise PermanentError(
            f"the {name} exited ({status})",
            str(stack.logs / f"{name}.log"),
            "read its log, then start momentum serve again",
        )


def _stop_on_sigterm() -> threading.Event:
    """An event set when the process receives SIGTERM (Ctrl-C arrives as KeyboardInterrupt)."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    return stopping


def _banner(stack: LocalStack) -> str:
    """What is running where, and how to trigger a run."""
    return (
        f"UI:          {stack.ui_url}\nAPI:         {stack.api_url}\n"
        f"work pool:   {POOL} (process), a worker running one flow run at a time\n"
        f"deployments: {', '.join(f'{FLOW}/{d}' for d in DEPLOYMENTS)}\nstore:       {stack.store_url}\n"
        f"logs:        {stack.logs}\n\ntry:  PREFECT_API_URL={stack.api_url} prefect deployment run "
        f"{FLOW}/rebalance\nCtrl-C stops everything."
    )


def watch(stack: LocalStack, stopping: threading.Event, poll_seconds: float = 1.0) -> tuple[str, int] | None:
    """Wait until ``stopping`` is set (None) or a process of the stack exits: its name and exit status."""
    while not stopping.is_set():
        for name, proc in stack.processes.items():
            if proc.poll() is not None:
                return name, proc.returncode
        stopping.wait(poll_seconds)
    return None
