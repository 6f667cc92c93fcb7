"""No secret leaks: a canary key pair drives a real run against the local Alpaca server, then every log,
stored object, artifact, flow/task run record and persisted result is scanned for it."""

from __future__ import annotations

import time

import pytest
from prefect.client.orchestration import get_client

from flows.rebalance import rebalance
from momentum.brokers import MissingBrokerKeys
from tasks.secrets import DEFAULT_BLOCKS, secret_blocks_to_env
from tests.support.alpaca_server import AlpacaServer
from tests.support.leaks import (
    assert_absent,
    canaries,
    hostile_faults,
    prefect_texts,
    result_texts,
    store_texts,
)

pytestmark = pytest.mark.usefixtures("prefect_api")
AS_OF = "2022-11-30"
PRICES = {"CVX": 179.942, "KO": 62.649, "PEP": 181.852, "UNH": 541.914, "XOM": 109.539}


def run_and_scan(srv: AlpacaServer, url: str, secrets: tuple[str, str], all_logs, capfd) -> dict:
    since = time.time()
    state = rebalance(
        as_of=AS_OF,
        store_url=url,
        broker="alpaca",
        overrides={"alpaca_base_url": srv.base_url, "fill_timeout_seconds": 1.0, "order_timing": "market"},
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
    host = srv.base_url.removeprefix("http://")
    assert f"alpaca GET {host}/v2/clock: HTTP 500: key *** with secret ***" in texts["python logs"]
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
