"""No secret leaks: a canary key pair drives a real run against the local Alpaca server, then every log,
stored object, artifact, flow/task run record and persisted result is scanned for it."""

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

from flows.rebalance import rebalance
from momentum.brokers import MissingBrokerKeys
from tasks.secrets import DEFAULT_BLOCKS, secret_blocks_to_env

try:  # works whether or not tests/ is a package
    from tests.alpaca_server import AlpacaServer
except ImportError:  # pragma: no cover
    from alpaca_server import AlpacaServer

pytestmark = pytest.mark.usefixtures("prefect_api")
AS_OF = "2022-11-30"
PRICES = {"CVX": 179.942, "KO": 62.649, "PEP": 181.852, "UNH": 541.914, "XOM": 109.539}


class Collect(logging.Handler):
    """Every log record of the process, formatted with its traceback (caplog is off under -p no:logging)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(record.args))


@pytest.fixture
def all_logs():
    handler = Collect()
    names = [None, "prefect", "momentum", "tasks", "flows", "urllib3"]
    loggers = [logging.getLogger(n) for n in names] + [
        logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("prefect")
    ]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in saved:
        lg.removeHandler(handler)
        lg.setLevel(level)


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


def run_and_scan(srv: AlpacaServer, url: str, secrets: tuple[str, str], all_logs, capfd) -> dict:
    since = time.time()
    state = rebalance(
        as_of=AS_OF,
        store_url=url,
        broker="alpaca",
        overrides={"alpaca_base_url": srv.base_url, "fill_timeout_seconds": 1.0},
        return_state=True,
    )
    assert state.is_failed() and state.message.startswith(
        "1 of 5 orders not filled (1 rejected)"
    )  # the refusal
    assert_absent(secrets, {"flow run state message": state.message})
    summary = state.result(raise_on_failure=False)
    # the keys were used: the server authenticated every request with exactly these values
    assert srv.auth_failures == 0 and len(srv.requests) > 10 and len(srv.posts) == 5
    fills = {f["symbol"]: f for f in summary["fills"]}
    refused = [f for f in fills.values() if f["status"] == "rejected"]
    assert len(refused) == 1 and "key *** with secret *** is not allowed" in refused[0]["note"]
    out, err = capfd.readouterr()
    texts = {"stdout": out, "stderr": err, "python logs": "\n".join(all_logs.lines), "summary": repr(summary)}
    assert "alpaca GET /v2/clock: HTTP 500: key *** with secret ***" in texts["python logs"]
    texts |= store_texts(url)
    assert any(k.endswith("data.parquet") and "/executions/" in k for k in texts)
    texts |= prefect_texts(state.state_details.flow_run_id)
    texts |= result_texts(since)
    assert_absent(secrets, texts)
    return summary


def test_canary_keys_from_the_environment_never_leak(monkeypatch, tmp_path, all_logs, capfd):
    key_id, secret = canaries()
    monkeypatch.setenv("MOMENTUM_ALPACA_KEY_ID", key_id)
    monkeypatch.setenv("MOMENTUM_ALPACA_SECRET_KEY", secret)
    monkeypatch.setenv("MOMENTUM_ALPACA_BACKOFF_SECONDS", "0.01")
    srv = AlpacaServer(key_id, secret, cash=100_000.0, prices=PRICES).start()
    try:
        hostile_faults(srv, key_id, secret)
        run_and_scan(srv, str(tmp_path / "store"), (key_id, secret), all_logs, capfd)
    finally:
        srv.stop()


def test_canary_keys_from_prefect_secret_blocks_never_leak(monkeypatch, tmp_path, all_logs, capfd):
    from prefect.blocks.system import Secret

    key_id, secret = canaries()
    monkeypatch.delenv("MOMENTUM_ALPACA_KEY_ID", raising=False)
    monkeypatch.delenv("MOMENTUM_ALPACA_SECRET_KEY", raising=False)
    monkeypatch.setenv("MOMENTUM_ALPACA_BACKOFF_SECONDS", "0.01")
    srv = AlpacaServer(key_id, secret, cash=100_000.0, prices=PRICES).start()
    url = str(tmp_path / "store")
    try:
        # no key anywhere: the run fails before any request, saying where keys come from
        state = rebalance(
            as_of=AS_OF,
            store_url=url,
            broker="alpaca",
            overrides={"alpaca_base_url": srv.base_url},
            return_state=True,
        )
        assert state.is_failed() and srv.requests == []
        with pytest.raises(MissingBrokerKeys, match="MOMENTUM_ALPACA_KEY_ID .* Prefect Secret blocks"):
            state.result()
        Secret(value=key_id).save(DEFAULT_BLOCKS["MOMENTUM_ALPACA_KEY_ID"], overwrite=True)
        Secret(value=secret).save(DEFAULT_BLOCKS["MOMENTUM_ALPACA_SECRET_KEY"], overwrite=True)
        for variable in DEFAULT_BLOCKS:  # empty, so the pull step fills it and teardown removes it again
            monkeypatch.setenv(variable, "")
        # what a deployment's pull step does before the flow starts (prefect.yaml)
        assert secret_blocks_to_env() == {"loaded": list(DEFAULT_BLOCKS), "missing": []}
        hostile_faults(srv, key_id, secret)
        capfd.readouterr()
        run_and_scan(srv, url, (key_id, secret), all_logs, capfd)
    finally:
        srv.stop()
        with get_client(sync_client=True) as client:
            for name in DEFAULT_BLOCKS.values():
                try:
                    client.delete_block_document(client.read_block_document_by_name(name, "secret").id)
                except Exception:  # noqa: BLE001 - not created
                    pass


def test_secrets_are_refused_as_run_parameters(tmp_path):
    with pytest.raises(ValueError, match="come from the environment, never from parameters"):
        rebalance(as_of=AS_OF, store_url=str(tmp_path), broker="alpaca", overrides={"alpaca_secret_key": "x"})
