"""The local Prefect stack the e2e tests share: a client of its API, triggering and awaiting runs."""

from __future__ import annotations

import contextlib
import re
import time

from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from momentum_cli.local_stack import FLOW, LocalStack


@contextlib.contextmanager
def api(stack: LocalStack):
    """A client of the stack's API (also inside another API's test harness)."""
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        with get_client(sync_client=True) as client:
            yield client


def trigger(stack: LocalStack, deployment: str, **params: str) -> str:
    """``prefect deployment run FLOW/deployment -p k=v ...`` (the documented command) -> the flow run's id."""
    args = [a for k, v in params.items() for a in ("-p", f"{k}={v}")]
    out = stack.prefect("deployment", "run", f"{FLOW}/{deployment}", *args).stdout
    return re.search(r"UUID: ([0-9a-f-]{36})", out).group(1)


def submit(stack: LocalStack, deployment: str, **params) -> str:
    """The same through the client (no CLI start-up): ``run_deployment(..., timeout=0)``."""
    from prefect.deployments import run_deployment

    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        return str(run_deployment(f"{FLOW}/{deployment}", parameters=params, timeout=0).id)


def wait_final(stack: LocalStack, flow_run_id: str, timeout: float = 240):
    deadline = time.monotonic() + timeout
    with api(stack) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(flow_run_id)
            if run.state is not None and run.state.is_final():
                return run
            time.sleep(0.5)
    raise TimeoutError(
        f"flow run {flow_run_id} not final after {timeout} s; worker log:\n{stack.log('worker')}"
    )
