"""The rebalance flow end to end against a real Prefect API, on a local folder and on S3 (moto)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.rebalance import rebalance
from momentum.brokers.paper import LEDGER, PaperBroker
from momentum.run import RunSummary
from momentum.store import VersionedStore
from momentum_cli.app import app
from tasks.validate import ValidationFailed

pytestmark = pytest.mark.usefixtures("prefect_api")
STAGES = ["bars", "benchmark", "validation", "scores", "orders", "executions", "account"]
AS_OF = "2022-11-30"


def task_states(runs) -> dict[str, str]:
    return {run.name.rsplit("-", 1)[0]: run.state.name for run in runs}


def ledger(store: VersionedStore) -> pd.DataFrame:
    return store.read(store.resolve(LEDGER).ref)


def test_full_run_on_each_store(store_url):
    summary = rebalance(as_of=AS_OF, store_url=store_url)
    store = VersionedStore(store_url)
    assert set(STAGES) <= set(store.datasets())
    assert summary["as_of"] == AS_OF and summary["rebalance"]["is_signal_session"]
    assert {o["symbol"] for o in summary["orders"]} == {t["symbol"] for t in summary["target_portfolio"]}
    # order_timing close (the default): queued for the next session's closing auction, nothing filled yet
    assert all(f["status"] == "accepted" and f["queued_for"] == "2022-12-01" for f in summary["fills"])
    assert summary["execution"]["queued"] == len(summary["orders"]) and summary["execution"]["attention"] == 0
    assert summary["account"]["value"] == pytest.approx(100_000, rel=0.01)
    for name in STAGES:
        manifest = store.manifest(store.resolve(name).ref)
        assert summary["datasets"][name]["version"] == manifest.version and manifest.flow_run_id
    scores = store.read(store.resolve("scores").ref)
    assert (
        "not a universe member" in scores.set_index("symbol").loc["RRC", "reason"]
    )  # left the index 2018-06-18
    assert scores["selected"].sum() == 5


def test_a_manual_run_off_the_calendar_rebalances_and_says_so(tmp_path):
    from momentum_cli.render import run_text

    summary = rebalance(as_of="2022-12-28", store_url=str(tmp_path))
    assert (
        not summary["rebalance"]["is_signal_session"]
        and summary["rebalance"]["signal_session"] == "2022-12-28"
    )
    assert summary["orders"] and not summary["rebalance"]["caught_up"]
    text = run_text(RunSummary.from_json(summary))
    assert "a manual run rebalances at as_of; --only-on-schedule trades only on signal sessions" in text


def test_second_run_for_the_same_as_of_sends_nothing(tmp_path):
    url = str(tmp_path / "store")
    first = rebalance(as_of=AS_OF, store_url=url)
    store = VersionedStore(url)
    book = ledger(store)
    second = rebalance(as_of=AS_OF, store_url=url)
    assert ledger(store).equals(book) and len(store.refs(LEDGER)) == len(book)
    assert second["datasets"]["account"] == first["datasets"]["account"]
    assert second["account"] == first["account"]


def test_execute_fails_once_then_the_rerun_reuses_earlier_stages(tmp_path, monkeypatch, recorded_task_runs):
    url = str(tmp_path / "store")
    real_submit, submitted = PaperBroker.submit, []

    def crash_after_two(self, order):
        if len(submitted) == 2:
            raise RuntimeError("broker connection lost for good")
        submitted.append(order.client_order_id)
        return real_submit(self, order)

    monkeypatch.setattr(PaperBroker, "submit", crash_after_two)
    failed = rebalance(as_of=AS_OF, store_url=url, return_state=True)
    assert failed.is_failed()
    store = VersionedStore(url)
    before = {name: store.refs(name) for name in ["bars", "benchmark", "validation", "scores", "orders"]}
    assert store.refs("executions") == [] and len(ledger(store)) == 2
    monkeypatch.undo()

    state = rebalance(as_of=AS_OF, store_url=url, return_state=True)
    assert state.is_completed()
    after = {name: store.refs(name) for name in before}
    assert after == before  # no stage wrote a new version
    stages = ("ingest", "ingest-benchmark", "validate", "score", "plan", "execute")
    states = task_states(recorded_task_runs(state.state_details.flow_run_id, expect=stages))
    assert {states[t] for t in stages[:-1]} == {"Cached"}
    assert states["execute"] == "Completed"
    book = ledger(store)
    plan = store.read(before["orders"][-1])
    assert book["client_order_id"].is_unique and sorted(book["client_order_id"]) == sorted(
        plan["client_order_id"]
    )
    assert book.set_index("client_order_id").loc[submitted, "status"].eq("accepted").all()  # queued


def test_validation_failure_stops_before_any_order(tmp_path, monkeypatch):
    from momentum.providers.embedded import EmbeddedProvider

    real_bars = EmbeddedProvider.bars

    def with_negative_close(self, start, end, symbols=None):
        bars = real_bars(self, start, end, symbols)
        bars.loc[bars.index[-3:], "adj_close"] = -1.0  # the last session of three symbols
        bars.loc[bars.index[-6:-3], "adj_close"] = float("nan")
        bars.loc[bars.index[-9:-6], "adj_close"] = 0.0
        return bars

    monkeypatch.setattr(EmbeddedProvider, "bars", with_negative_close)
    url = str(tmp_path / "store")
    state = rebalance(as_of=AS_OF, store_url=url, return_state=True)
    assert state.is_failed()
    with pytest.raises(ValidationFailed, match="validation failed: .*quarantine"):
        state.result()
    store = VersionedStore(url)
    assert store.refs("validation") and store.refs("orders") == [] and store.refs("scores") == []


def test_cli_run_json_and_store_commands(tmp_path):
    url = str(tmp_path / "store")
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--as-of", AS_OF, "--store", url, "--strategy", "momentum", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["as_of"] == AS_OF and set(STAGES) <= set(summary["datasets"])
    assert summary["account"]["value"] > 0 and summary["orders"] and summary["fills"]

    listing = runner.invoke(app, ["store", "ls", "--store", url])
    assert listing.exit_code == 0 and all(name in listing.stdout for name in STAGES)
    csv = runner.invoke(app, ["store", "show", "scores", "--as-of", AS_OF, "--format", "csv", "--store", url])
    scores = pd.read_csv(pd.io.common.StringIO(csv.stdout))
    assert list(scores.columns) == [
        "symbol",
        "momentum",
        "fip",
        "eligible",
        "reason",
        "in_pool",
        "selected",
        "weight",
    ]
    assert sorted(scores.loc[scores["selected"], "symbol"]) == sorted(
        t["symbol"] for t in summary["target_portfolio"]
    )
    missing = runner.invoke(app, ["store", "show", "nothing", "--store", url])
    assert missing.exit_code == 1 and "no committed version" in missing.stderr
