"""``momentum serve --provider alpaca --broker alpaca --store DIR``: what the deployments will run with.

The settings reach the work pool's environment, the keys only Prefect Secret blocks (no job variable,
parameter, start-up line or log holds them), and the start-up lines say what the schedule does next:
when, from which data, through which broker, into which store, paper or live."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort

from momentum_cli.local_stack import FLOW, LocalStack, free_port
from tests.support.alpaca_data_server import AlpacaDataServer, embedded_market
from tests.support.alpaca_server import AlpacaServer
from tests.support.leaks import canaries
from tests.support.serve_process import ServeProcess, clean_env
from tests.support.stack import api

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """serve on a temporary PREFECT_HOME against the stand-ins, with a canary key pair in its environment."""
    root = tmp_path_factory.mktemp("serve-settings")
    keys = canaries()
    with AlpacaDataServer(embedded_market(), *keys) as market, AlpacaServer(*keys) as broker:
        env = clean_env(root / "home", **market.env(), MOMENTUM_ALPACA_BASE_URL=broker.base_url)
        port = free_port()
        args = ["--provider", "alpaca", "--broker", "alpaca", "--store", str(root / "store")]
        args += ["--set", "lookback=126", "--home", str(root / "home"), "--port", str(port)]
        serve = ServeProcess(args, env, cwd=root)
        try:
            serve.wait_ready()
            yield {
                "serve": serve,
                "stack": LocalStack(home=root / "home", store_url=str(root / "store"), port=port),
                "keys": keys,
                "market": market,
                "broker": broker,
                "store": str(root / "store"),
            }
        finally:
            assert serve.stop() == 0, "\n".join(serve.lines)


def test_the_startup_lines_name_provider_broker_store_and_paper(served):
    serve = served["serve"]
    assert serve.line("provider") == f"alpaca (Alpaca market data at {served['market'].base_url})"
    assert serve.line("broker") == f"alpaca, paper account at {served['broker'].base_url}"
    assert serve.line("store") == served["store"]
    assert serve.line("settings") == "lookback=126"  # the URLs are on the provider and broker lines
    assert serve.line("keys").startswith("from MOMENTUM_ALPACA_KEY_ID, MOMENTUM_ALPACA_SECRET_KEY into")


def test_the_next_run_line_is_the_servers_next_scheduled_run(served):
    with api(served["stack"]) as client:
        daily = client.read_deployment_by_name(f"{FLOW}/daily")
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[daily.id]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=1,
        )
    first = runs[0].expected_start_time.astimezone(NEW_YORK)
    assert first > datetime.now(NEW_YORK)
    assert first.weekday() < 5 and (first.hour, first.minute) == (19, 30)
    expected = f"{FLOW}/daily at {first:%a %Y-%m-%d %H:%M %Z} (30 19 * * 1-5)"
    assert served["serve"].line("next run") == expected


def test_the_pool_carries_the_settings_and_no_key(served):
    with api(served["stack"]) as client:
        pool = client.read_work_pool("momentum-local")
        deployments = [client.read_deployment_by_name(f"{FLOW}/{d}") for d in ("daily", "rebalance")]
    env = pool.base_job_template["variables"]["properties"]["env"]["default"]
    assert env["MOMENTUM_PROVIDER"] == env["MOMENTUM_BROKER"] == "alpaca"
    assert env["MOMENTUM_STORE_URL"] == served["store"]
    assert env["MOMENTUM_ALPACA_BASE_URL"] == served["broker"].base_url
    assert env["MOMENTUM_LOOKBACK"] == "126"
    configured = json.dumps(
        [pool.base_job_template]
        + [[d.parameters, d.job_variables, d.parameter_openapi_schema, d.pull_steps] for d in deployments]
    )
    for key in served["keys"]:
        assert key not in configured
    assert all(d.parameters.get("live") is not True for d in deployments)


def test_the_keys_are_in_secret_blocks_and_nowhere_else_serve_writes(served):
    with api(served["stack"]) as client:
        blocks = {
            name: client.read_block_document_by_name(name, "secret", include_secrets=True).data["value"]
            for name in ("momentum-alpaca-key-id", "momentum-alpaca-secret-key")
        }
    assert tuple(blocks.values()) == served["keys"]
    logs = served["stack"].logs
    written = "\n".join(served["serve"].lines) + "".join(
        path.read_text(errors="replace") for path in logs.glob("*.log")
    )
    for key in served["keys"]:
        assert key not in written
