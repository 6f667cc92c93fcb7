"""``momentum run --provider alpaca`` end to end against the local Market Data server (paper broker):
the same closes score the same as ``embedded``; a stale feed blocks every order; faults end as
specified; the keys never reach logs, datasets, artifacts, run records or errors."""

from __future__ import annotations

import time

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
)
from typer.testing import CliRunner

from flows.rebalance import rebalance
from momentum.providers.alpaca import batches
from momentum.store import VersionedStore
from momentum_cli.app import app
from tests.support.alpaca_data_server import AlpacaDataServer, embedded_market, sp500_market
from tests.support.leaks import _every, assert_absent, canaries, result_texts, store_texts

pytestmark = pytest.mark.usefixtures("prefect_api")
AS_OF = "2022-11-30"
EMBEDDED = [
    "AAPL",
    "AMD",
    "BAC",
    "BBY",
    "CVX",
    "GE",
    "HD",
    "JNJ",
    "JPM",
    "KO",
    "LLY",
    "MRK",
    "MSFT",
    "PEP",
    "PFE",
    "PG",
    "RRC",
    "UNH",
    "WMT",
    "XOM",
]


@pytest.fixture
def universe_file(tmp_path):
    """The embedded 20 names as a universe file, so both providers score the same symbols."""
    path = tmp_path / "universe.txt"
    path.write_text("\n".join(EMBEDDED) + "\n")
    return {"universe": "file", "universe_file": str(path)}


@pytest.fixture
def canary_server(monkeypatch):
    """The data server with a canary key pair, set in the environment the way a user sets it."""
    key_id, secret = canaries()
    server = AlpacaDataServer(embedded_market(), key_id, secret).start()
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MOMENTUM_ALPACA_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("MOMENTUM_ALPACA_TIMEOUT_SECONDS", "1")
    yield server
    server.stop()


def prefect_texts(flow_run_id) -> dict[str, str]:
    """The run's flow run (parameters), task runs, artifacts and API logs as JSON text."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    out = {}
    with get_client(sync_client=True) as client:
        this_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        for run in client.read_flow_runs(flow_run_filter=this_run):
            out[f"flow_run {run.id}"] = run.model_dump_json()
        for run in _every(client.read_task_runs, flow_run_filter=this_run):
            out[f"task_run {run.name}"] = run.model_dump_json()
        artifacts = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        for artifact in _every(client.read_artifacts, artifact_filter=artifacts):
            out[f"artifact {artifact.key} {artifact.id}"] = artifact.model_dump_json()
        logs = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        for log in _every(client.read_logs, log_filter=logs):
            out[f"log {log.id}"] = log.model_dump_json()
    return out


def scores(url: str):
    store = VersionedStore(url)
    return store.read(store.resolve("scores").ref)


def test_alpaca_run_scores_like_embedded_through_faults_and_leaks_no_key(
    canary_server, universe_file, tmp_path, all_logs, capfd
):
    srv, since = canary_server, time.time()
    srv.fail_next(1, status=429)  # bars: 429 without any header, then a 500, then the answer
    srv.fail_next(1, status=500, body={"message": f"echo {srv.key_id} {srv.secret_key}"})
    live = str(tmp_path / "alpaca")
    state = rebalance(
        as_of=AS_OF, store_url=live, provider="alpaca", overrides=universe_file, return_state=True
    )
    assert state.is_completed()
    summary = state.result()
    offline = rebalance(
        as_of=AS_OF, store_url=str(tmp_path / "embedded"), provider="embedded", overrides=universe_file
    )
    assert scores(live).equals(scores(str(tmp_path / "embedded")))
    assert summary["target_portfolio"] == offline["target_portfolio"] and summary["fills"]
    assert srv.bar_requests == 4 and srv.auth_failures == 0  # bars (3 attempts) + benchmark
    assert [q["symbols"] for q in srv.queries[:3]] == [",".join(EMBEDDED)] * 3 and srv.queries[3][
        "symbols"
    ] == "SPY"
    out, err = capfd.readouterr()
    texts = {"stdout": out, "stderr": err, "python logs": "\n".join(all_logs.lines), "summary": repr(summary)}
    assert "retry 2 of 4" in texts["python logs"]  # the faults happened and were retried
    texts |= store_texts(live) | prefect_texts(state.state_details.flow_run_id) | result_texts(since)
    assert any("/bars/" in k for k in texts) and any(k.startswith("artifact") for k in texts)
    assert_absent((srv.key_id, srv.secret_key), texts)


def test_stale_feed_blocks_every_order_with_one_line(alpaca_data, universe_file, tmp_path):
    alpaca_data.newest = "2022-11-29"  # the provider has not updated yet
    url = str(tmp_path / "store")
    sets = [x for k, v in universe_file.items() for x in ("--set", f"{k}={v}")]
    result = CliRunner().invoke(app, ["run", "--provider", "alpaca", "--as-of", AS_OF, "--store", url, *sets])
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(
        "error: validation failed: failed: freshness (newest session 2022-11-29 "
        "(20 of 20 symbols have it), expected as_of 2022-11-30"
    )
    assert "the benchmark's last bar is 2022-11-29" in line
    store = VersionedStore(url)
    assert store.refs("validation") and not store.refs("scores") and not store.refs("orders")
    assert not store.refs("paper_ledger")


FETCH_FAULTS = {  # fault -> what the one line says
    "bad key": "-> 401: an HTML page (check MOMENTUM_ALPACA_KEY_ID",
    "403": "-> 403: subscription does not permit querying recent SIP data for *** (code 42210000)",
    "non-json": "-> 200: the body is not JSON",
    "timeouts": "gave up after 5 attempts (last: ReadTimeout)",
    "trickle": "gave up after 2 attempts (last: no complete answer within 3 s), at 127.0.0.1:",
}


@pytest.mark.parametrize("fault", list(FETCH_FAULTS))
def test_a_failed_fetch_ends_the_run_in_one_line_and_writes_no_bars(
    fault, canary_server, universe_file, tmp_path, monkeypatch, all_logs
):
    srv, expected = canary_server, FETCH_FAULTS[fault]
    if fault == "bad key":
        monkeypatch.setenv("MOMENTUM_ALPACA_SECRET_KEY", srv.secret_key + "x")
    elif fault == "403":
        srv.fail_next(
            status=403,
            body={
                "code": 42210000,
                "message": f"subscription does not permit querying recent SIP data for {srv.key_id}",
            },
        )
    elif fault == "non-json":
        srv.respond_next(f"<p>{srv.secret_key}</p>", content_type="text/plain")
    elif fault == "trickle":  # headers, then a byte every 2 s: under any read timeout, over the deadline
        monkeypatch.setenv("MOMENTUM_ALPACA_TIMEOUT_SECONDS", "10")
        monkeypatch.setenv("MOMENTUM_HTTP_DEADLINE_SECONDS", "3")
        monkeypatch.setenv("MOMENTUM_ALPACA_MAX_RETRIES", "1")
        srv.trickle_next(2.0, n=2)
    else:
        srv.delay_next(1.5, n=5)
    url = str(tmp_path / "store")
    sets = [x for k, v in universe_file.items() for x in ("--set", f"{k}={v}")]
    result = CliRunner().invoke(app, ["run", "--provider", "alpaca", "--as-of", AS_OF, "--store", url, *sets])
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: GET /v2/stocks/bars [AAPL..XOM (20 symbols), 2021-11-01..2022-11-30")
    assert expected in line
    assert VersionedStore(url).refs("bars") == []  # nothing half-fetched is written
    texts = {"stdout": result.stdout, "stderr": result.stderr, "python logs": "\n".join(all_logs.lines)}
    assert expected in texts["python logs"]  # the failure was logged (by Prefect), scrubbed like the line
    assert_absent((srv.key_id, srv.secret_key), texts | store_texts(url))
    attempts = srv.bar_requests + srv.auth_failures
    assert attempts == {"timeouts": 5, "trickle": 2}.get(fault, 1)  # permanent faults are not retried
    assert all(t.sent < t.length and t.seconds_needed > 60 for t in srv.trickles)  # cut off, not finished


def test_sp500_run_after_the_membership_data_warns_and_records_membership_as_of(tmp_path, monkeypatch):
    as_of = "2026-11-30"
    with AlpacaDataServer(sp500_market(as_of, n_sessions=273)) as srv:
        for key, value in srv.env().items():
            monkeypatch.setenv(key, value)
        summary = rebalance(as_of=as_of, store_url=str(tmp_path / "store"), provider="alpaca")
        asked = sorted({s for q in srv.queries[:-1] for s in q["symbols"].split(",")})
        pages = sum(-(-len(batch) * 273 // 10_000) for batch in batches(asked))  # 273 sessions a symbol
        assert srv.bar_requests == pages + 1 <= 20 and srv.queries[-1]["symbols"] == "SPY"
    assert (
        summary["warnings"] == [summary["warnings"][0]]
        and "S&P 500 membership as of 2026-10-06" in summary["warnings"][0]
    )
    assert "pip install -U index-constitution" in summary["warnings"][0]
    store = VersionedStore(str(tmp_path / "store"))
    assert store.resolve("scores").params["membership_as_of"] == "2026-10-06"
    assert summary["validation"]["quarantined"] == [] and summary["data"]["symbols"] == len(asked) >= 500
    assert summary["target_portfolio"]


def test_held_positions_outside_the_universe_are_fetched_and_sold(alpaca_data, universe_file, tmp_path):
    url = str(tmp_path / "store")
    first = rebalance(as_of=AS_OF, store_url=url, provider="alpaca", overrides=universe_file)
    held = sorted(p["symbol"] for p in first["account"]["positions"])
    assert held
    smaller = tmp_path / "smaller.txt"
    smaller.write_text("\n".join(s for s in EMBEDDED if s != held[0]) + "\n")
    asked_before = alpaca_data.bar_requests
    second = rebalance(
        as_of="2022-12-01",
        store_url=url,
        provider="alpaca",
        overrides={"universe": "file", "universe_file": str(smaller)},
    )
    bars_query = alpaca_data.queries[asked_before]
    assert held[0] in bars_query["symbols"].split(",")  # fetched although outside the universe
    assert {"symbol": held[0], "side": "sell"}.items() <= next(
        o for o in second["orders"] if o["symbol"] == held[0]
    ).items()


def test_an_invalid_symbol_is_dropped_and_validation_names_it_with_the_reason(
    alpaca_data, universe_file, tmp_path
):
    alpaca_data.invalid = {"KO"}
    url = str(tmp_path / "store")
    summary = rebalance(as_of=AS_OF, store_url=url, provider="alpaca", overrides=universe_file)
    assert [q["symbols"].count("KO") for q in alpaca_data.queries[:2]] == [1, 0]  # asked again without KO
    store = VersionedStore(url)
    table = store.read(store.resolve("validation").ref)
    row = table[(table["check"] == "missing_symbol") & (table["symbol"] == "KO")].iloc[0]
    assert row["message"] == "missing_symbol: KO: rejected by the data API (HTTP 400 invalid symbol: KO)"
    assert row["severity"] == "warning" and summary["data"]["symbols"] == 19 and summary["fills"]
