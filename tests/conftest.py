"""Shared fixtures: no network, a real S3-compatible server (moto) on loopback, stores, and a Prefect API."""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import time
import uuid
from pathlib import Path

import pytest
import requests

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # offline: no telemetry calls

PACKAGES = ("prefect", "pandas", "pyarrow", "s3fs", "boto3", "botocore", "great-expectations", "moto")


TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items):
    """Each test is marked with its tier, the folder it lives in: ``-m unit``, ``-m "not e2e"``."""
    for item in items:
        tier = Path(str(item.path)).resolve().relative_to(TESTS).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


def pytest_report_header(config):
    """CI prints the resolved versions (an unpinned install once picked s3fs 0.4.x)."""
    return "resolved: " + ", ".join(f"{p} {md.version(p)}" for p in PACKAGES)


@pytest.fixture
def no_network(monkeypatch):
    """Any HTTP request through ``requests`` (the Alpaca adapter's client) fails the test; the
    requests tried are recorded."""
    calls = []

    def refuse(self, method, url, *args, **kwargs):
        calls.append((method, url))
        raise AssertionError(f"network call to {url}")

    monkeypatch.setattr(requests.Session, "request", refuse)
    return calls


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1 (free port), with the standard AWS settings pointing at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import boto3

    boto3.client("s3").create_bucket(Bucket="momentum-test")
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(params=["local", "s3"])
def store_url(request, tmp_path):
    """A fresh store URL: a local folder, then a prefix in a bucket of the moto server."""
    if request.param == "local":
        return str(tmp_path / "store")
    request.getfixturevalue("s3_server")
    return f"s3://momentum-test/{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def prefect_api():
    """A real Prefect API (the test harness's temporary server), once per session."""
    from prefect.logging.configuration import setup_logging
    from prefect.testing.utilities import prefect_test_harness

    # Bind Prefect's console handler to the session's stderr now: configured lazily inside a CliRunner
    # invoke, it would keep that invoke's stream, which is closed by the next one.
    setup_logging()
    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def recorded_task_runs(prefect_api):
    """``read(flow_run_id, expect)``: the flow run's task runs once the API has recorded every one of them
    in a final state and the ``expect`` task names are among them. Task runs and their states reach the
    API as events, processed a little after the flow run returns; this waits (bounded) instead of racing."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    def read(flow_run_id, expect: tuple[str, ...] = (), timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while True:
            with get_client(sync_client=True) as client:
                runs = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
                )
            names = {run.name.rsplit("-", 1)[0] for run in runs}
            settled = all(run.state is not None and run.state.is_final() for run in runs)
            if (settled and set(expect) <= names) or time.monotonic() > deadline:
                return runs
            time.sleep(0.25)

    return read


@pytest.fixture
def alpaca_data(monkeypatch):
    """A local Alpaca Market Data server (``tests/support/alpaca_data_server.py``) serving the embedded
    closes and the embedded S&P 500 index as SPY, with MOMENTUM_ALPACA_DATA_URL and the key pair set to
    reach it."""
    from tests.support.alpaca_data_server import AlpacaDataServer, embedded_market

    server = AlpacaDataServer(embedded_market()).start()
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MOMENTUM_ALPACA_BACKOFF_SECONDS", "0.01")
    yield server
    server.stop()
