"""``momentum serve``: a local Prefect server, the work pool, a worker and the deployments in one step
(:class:`momentum_cli.local_stack.LocalStack`)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Optional

import typer

from momentum.errors import PermanentError
from momentum_cli import options
from momentum_cli.local_stack import DEPLOYMENTS, FLOW, LocalStack
from momentum_cli.serve_plan import ServePlan, next_run, other_settings, serve_plan
from momentum_cli.work_pools import serve_pool


def serve(
    port: int = typer.Option(
        4200,
        "--port",
        envvar="PREFECT_SERVER_API_PORT",
        help="Port of the Prefect server and UI (loopback)",
    ),
    store: Optional[str] = options.STORE,
    provider: Optional[str] = options.PROVIDER,
    broker: Optional[str] = options.BROKER,
    set_: list[str] = options.SETS,
    live: bool = typer.Option(
        False, "--live", help="Opt the deployments in to live trading (also needs MOMENTUM_LIVE_TRADING=true)"
    ),
    pool: str = typer.Option(
        "process", "--pool", help="process: runs as subprocesses of the worker; docker: each in a container"
    ),
    image: Optional[str] = typer.Option(None, "--image", help="The image of the docker pool's runs"),
    home: Path = typer.Option(
        Path("~/.momentum/prefect"),
        "--home",
        help="PREFECT_HOME of the local server: its SQLite database, results and logs (kept across restarts)",
    ),
    poll_seconds: float = typer.Option(5.0, "--poll-seconds", help="How often the worker polls for runs"),
) -> None:
    """Start a local Prefect server + UI, a work pool, the deployments and a worker.

    The deployments run with the settings of `momentum run`: the MOMENTUM_* environment, then
    --provider, --broker, --store and --set. The Alpaca keys (MOMENTUM_ALPACA_KEY_ID /
    MOMENTUM_ALPACA_SECRET_KEY) go into Prefect Secret blocks, never into the pool or the parameters.
    Runs until Ctrl-C, then stops the worker and the server. Point the prefect CLI at it with
    PREFECT_API_URL=http://127.0.0.1:PORT/api.
    """
    from momentum_cli.preflight import check_serve

    named = {"store_url": store, "provider": provider, "broker": broker}
    plan = serve_plan(named, options.parse_sets(set_), live)
    check_serve(plan.settings)  # keys excepted: a deployment may load them from Secret blocks
    stack = LocalStack(
        home=home.expanduser(),
        store_url=plan.settings.store_url,
        port=port,
        worker_poll_seconds=poll_seconds,
        inherit_momentum_env=False,  # the pool's settings and the Secret blocks decide, nothing else
        pool=serve_pool(pool, image),
        settings_env=plan.env,
        secret_blocks=plan.secret_blocks,
        live=live,
    )
    typer.echo(f"starting a Prefect server on {stack.ui_url} (PREFECT_HOME={stack.home}) ...")
    stopping = _stop_on_sigterm()
    exited = None
    try:
        stack.start()
        typer.echo(_banner(stack, plan, next_run(stack.api_url, FLOW)))
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


def _banner(stack: LocalStack, plan: ServePlan, next_time: str) -> str:
    """What is running where, what the schedule does next, and how to trigger a run."""
    return (
        f"UI:          {stack.ui_url}\nAPI:         {stack.api_url}\n"
        f"work pool:   {stack.pool.describe()}\n"
        f"deployments: {', '.join(f'{FLOW}/{d}' for d in DEPLOYMENTS)}\n"
        f"next run:    {next_time}\n"
        f"provider:    {plan.data()}\n"
        f"broker:      {plan.settings.broker}, {plan.trading()}\n"
        f"store:       {stack.store_url}\n"
        f"settings:    {other_settings(plan)}\n"
        f"keys:        {plan.keys()}\n"
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
