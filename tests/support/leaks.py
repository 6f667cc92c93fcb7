"""Scanning for leaked secrets: logs, the Prefect API, task results, the store."""

from __future__ import annotations

import io
import logging
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from tests.support.alpaca_server import AlpacaServer

pytestmark = pytest.mark.usefixtures("prefect_api")


class Collect(logging.Handler):
    """Every log record of the process, formatted with its traceback (caplog is off under -p no:logging)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(record.args))


def canaries() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:12]
    return f"CANARYKEYID{tag}", f"CANARYSECRET{tag}"


def hostile_faults(srv: AlpacaServer, key_id: str, secret: str) -> None:
    """Error answers that echo the keys back: the adapter must scrub them wherever they travel."""
    echo = {"code": 40010001, "message": f"key {key_id} with secret {secret} is not allowed here"}
    srv.respond_next("clock", {**echo, "code": 50010000}, status=500)  # logged as a retry warning
    srv.respond_next("submit", echo, status=422)  # a refusal: its message lands in the executions note


def store_texts(url: str) -> dict[str, str]:
    """Every object of the store as text: parquet decoded (values, columns, metadata), the rest raw."""
    out = {}
    for path in Path(url).rglob("*"):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        text = raw.decode("utf-8", "replace")
        if path.suffix == ".parquet":
            table = pq.read_table(io.BytesIO(raw))
            frame = table.to_pandas()
            text += repr(table.schema.metadata) + frame.to_csv()
        out[str(path)] = text
    return out


def _every(read, **filters) -> list:
    """All pages of a Prefect read call."""
    out, page = [], 200
    while True:
        got = read(limit=page, offset=len(out), **filters)
        out += got
        if len(got) < page:
            return out


def refusal_logged(texts: dict[str, str]) -> bool:
    """The broker's refusal reached the API's run logs, scrubbed."""
    return any(
        k.startswith("log ") and "rejected by the broker" in v and "key *** with secret ***" in v
        for k, v in texts.items()
    )


def api_logs(client, flow_run_id, wait_seconds: float = 30.0) -> dict[str, str]:
    """The run's logs as the API holds them. Logs travel in background batches, so drain the sender and
    poll (bounded) until the refusal has arrived."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    logs = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
    deadline = time.monotonic() + wait_seconds
    while True:
        out = {f"log {log.id}": log.model_dump_json() for log in _every(client.read_logs, log_filter=logs)}
        if refusal_logged(out) or time.monotonic() > deadline:
            return out
        time.sleep(0.5)


def prefect_texts(flow_run_id) -> dict[str, str]:
    """Flow runs (parameters), task runs (inputs), artifacts and API logs of the run, as JSON text."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    this_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    out = {}
    with get_client(sync_client=True) as client:
        for run in _every(client.read_flow_runs):  # every flow run of the session, parameters included
            out[f"flow_run {run.id}"] = run.model_dump_json()
        for run in _every(client.read_task_runs, flow_run_filter=this_run):
            out[f"task_run {run.name}"] = run.model_dump_json()
        artifacts = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        for artifact in _every(client.read_artifacts, artifact_filter=artifacts):
            out[f"artifact {artifact.key} {artifact.id}"] = artifact.model_dump_json()
        out |= api_logs(client, flow_run_id)
    assert any(k.startswith("artifact execution-report") for k in out)
    assert any(k.startswith("task_run execute") for k in out)
    assert refusal_logged(out)
    return out


def result_texts(since: float) -> dict[str, str]:
    """Task results Prefect persisted during the test (pickles of the stage outputs)."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH

    root = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    if not root.exists():
        return {}
    return {
        str(p): p.read_bytes().decode("latin-1")
        for p in root.rglob("*")
        if p.is_file() and p.stat().st_mtime >= since - 1
    }


def assert_absent(secrets: tuple[str, ...], texts: dict[str, str]) -> None:
    leaks = [(where, s) for where, text in texts.items() for s in secrets if s in text]
    assert leaks == [], f"secret found in {leaks[:5]}"
