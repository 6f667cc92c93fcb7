"""The serverless deployments (scripts/prefect.serverless.yaml), run by Prefect's docker work pool: each
flow run in a fresh container of the project's image, against an S3 store and an S3 results block (moto
on loopback), the Alpaca data and trading stand-ins, and Secret blocks for the keys. Only the pool's
job variables differ from what ECS runs (tests/support/docker_pool.py)."""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid

import boto3
import pandas as pd
import pyarrow.parquet as pq
import pytest
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

from momentum.calendar import last_closed_session
from momentum.store import VersionedStore
from tests.e2e.test_deploy import task_states
from tests.support.alpaca_auction import evening
from tests.support.alpaca_data_server import AlpacaDataServer, sp500_market
from tests.support.alpaca_server import AlpacaServer
from tests.support.containers import found_in_layers
from tests.support.docker_pool import DOCKER_POOL, SERVERLESS_FILE, DockerStack
from tests.support.leaks import _every, assert_absent, canaries
from tests.support.stack import api, wait_final

BUCKET = "momentum-test"  # made by the s3_server fixture
STAGES = ("ingest", "ingest-benchmark", "validate", "score", "plan")
SECRET_BLOCKS = ("momentum-alpaca-key-id", "momentum-alpaca-secret-key")


@pytest.fixture(scope="module")
def keys():
    return canaries()


@pytest.fixture(scope="module")
def market(keys):
    """500 S&P 500 names and SPY up to the last closed session, served with the canary key pair."""
    bars = sp500_market(last_closed_session(pd.Timestamp.now(tz="UTC")), n_sessions=273)
    server = AlpacaDataServer(bars, *keys).start()
    server.closes = bars[bars["date"] == bars["date"].max()].set_index("symbol")["adj_close"].to_dict()
    yield server
    server.stop()


def broker_for(market: AlpacaDataServer, keys) -> AlpacaServer:
    server = AlpacaServer(*keys, cash=100_000.0, prices=market.closes).start()
    server.set_time(evening())  # the daily run's hour: on-close orders are accepted
    return server


@pytest.fixture(scope="module")
def broker(market, keys):
    server = broker_for(market, keys)
    yield server
    server.stop()


def run_env(s3: str, market: AlpacaDataServer, broker: AlpacaServer) -> dict[str, str]:
    """What the pool adds to the serverless environment here: moto's endpoint and dummy S3 credentials
    (on ECS: the task role), the stand-ins' URLs and the live provider and broker."""
    return {
        "AWS_ENDPOINT_URL": s3,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MOMENTUM_PROVIDER": "alpaca",
        "MOMENTUM_BROKER": "alpaca",
        "MOMENTUM_ALPACA_DATA_URL": market.base_url,
        "MOMENTUM_ALPACA_BASE_URL": broker.base_url,
        "MOMENTUM_FILL_POLL_SECONDS": "0.2",
    }


@pytest.fixture(scope="module")
def pool(image, s3_server, market, broker, keys, tmp_path_factory):
    prefix = f"serverless-{uuid.uuid4().hex[:8]}"
    stack = DockerStack(
        home=tmp_path_factory.mktemp("docker-stack") / "home",
        store_url=f"s3://{BUCKET}/{prefix}/momentum",
        worker_poll_seconds=1,
        inherit_momentum_env=False,
        deploy_env={
            "MOMENTUM_IMAGE": image["tag"],
            "MOMENTUM_STORE_URL": f"s3://{BUCKET}/{prefix}/momentum",
            "MOMENTUM_TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/momentum-task",
        },
        run_env=run_env(s3_server, market, broker),
    )
    stack.prefix = prefix
    stack.start()
    try:
        stack.save_blocks(
            dict(zip(SECRET_BLOCKS, keys, strict=True)), f"s3://{BUCKET}/{prefix}/prefect-results"
        )
        yield stack
    finally:
        stack.stop()


def objects(prefix: str) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        for o in page.get("Contents", [])
    ]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def container_of(stack: DockerStack, flow_run_id: str) -> str:
    """The container the docker worker started for the flow run's latest attempt."""
    with api(stack) as client:
        return client.read_flow_run(flow_run_id).infrastructure_pid or ""


def deployed_env(stack: DockerStack, deployment: str) -> dict[str, str]:
    with api(stack) as client:
        return dict(client.read_deployment_by_name(f"rebalance/{deployment}").job_variables["env"])


def start(stack: DockerStack, deployment: str, **kw) -> str:
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        return str(run_deployment(f"rebalance/{deployment}", timeout=0, **kw).id)


def test_the_deployments_differ_from_the_ecs_ones_only_in_the_pool(pool):
    import yaml

    ecs, docker = (yaml.safe_load(p.read_text()) for p in (SERVERLESS_FILE, pool.prefect_file))
    assert {k: v for k, v in docker.items() if k != "definitions"} | {"deployments": None} == {
        k: v for k, v in ecs.items() if k != "definitions"
    } | {"deployments": None}
    for mine, theirs in zip(docker["deployments"], ecs["deployments"], strict=True):
        assert {k: v for k, v in mine.items() if k != "work_pool"} == {
            k: v for k, v in theirs.items() if k != "work_pool"
        }
        assert mine["work_pool"]["job_variables"]["image"] == theirs["work_pool"]["job_variables"]["image"]
        assert (
            theirs["work_pool"]["job_variables"]["env"].items()
            <= mine["work_pool"]["job_variables"]["env"].items()
        )
    with api(pool) as client:
        deployed = client.read_deployment_by_name("rebalance/daily")
    assert deployed.work_pool_name == DOCKER_POOL
    assert deployed.job_variables["env"]["PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK"] == (
        "remote-file-system/momentum-results"
    )
    assert deployed.job_variables["env"]["MOMENTUM_STORE_URL"] == f"s3://{BUCKET}/{pool.prefix}/momentum"


def test_a_manual_rebalance_completes_in_a_container_against_s3(pool, broker):
    run_id = start(pool, "rebalance")
    run = wait_final(pool, run_id, timeout=420)
    assert run.state.is_completed(), f"{run.state.message}\n{pool.log('worker')}"
    assert container_of(pool, run_id), "no container recorded for the run"
    store = VersionedStore(f"s3://{BUCKET}/{pool.prefix}/momentum")
    (orders,) = store.refs("orders")
    assert store.manifest(orders).flow_run_id == run_id and store.refs("executions")
    plan = store.read(orders)
    assert len(plan) > 0 and all(broker.post_count(cid) == 1 for cid in plan["client_order_id"])
    results = objects(f"{pool.prefix}/prefect-results/")
    assert len(results) >= len(STAGES)  # the stages' results, in the results block's bucket
    worker = pool.log("worker", tail=400_000)
    assert "secret_blocks_to_env" in worker and "set_working_directory" in worker


def test_a_failed_execute_retried_runs_in_a_new_container_and_reuses_the_s3_results(
    pool, s3_server, market, keys
):
    broker = broker_for(market, keys)  # a fresh account and store: this run owes orders
    try:
        store_url = f"s3://{BUCKET}/{pool.prefix}/retried"
        store = VersionedStore(store_url)
        store.fs.pipe_file(f"{store.root}/KILL_SWITCH", b"")
        env = {**deployed_env(pool, "rebalance"), **run_env(s3_server, market, broker)}
        run_id = start(pool, "rebalance", parameters={"store_url": store_url}, job_variables={"env": env})
        failed = wait_final(pool, run_id, timeout=420)
        assert failed.state.is_failed() and "kill switch" in failed.state.message, failed.state.message
        first_container = container_of(pool, run_id)
        before = {name: store.refs(name) for name in ("bars", "benchmark", "validation", "scores", "orders")}
        assert broker.posts == []

        store.fs.rm(f"{store.root}/KILL_SWITCH")
        pool.prefect("flow-run", "retry", run_id)
        retried = wait_final(pool, run_id, timeout=420)
        assert retried.state.is_completed(), f"{retried.state.message}\n{pool.log('worker')}"
        assert retried.run_count == 2 and container_of(pool, run_id) not in ("", first_container)
        states = task_states(pool, run_id, 2, expect=(*STAGES, "execute", "account"))
        for name in STAGES:
            assert set(states[name]) == {"Cached"}, (name, states)
        assert states["execute"] == ["Completed"]
        assert {name: store.refs(name) for name in before} == before  # nothing upstream recomputed
        plan = store.read(before["orders"][-1])
        assert sorted(broker.posts) == sorted(plan["client_order_id"])  # each order sent once
    finally:
        broker.stop()


def test_the_daily_deployment_fires_from_its_schedule_in_a_container(pool):
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=100)).replace(second=0, microsecond=0)
    cron = f"{due.minute} {due.hour} {due.day} {due.month} *"
    pool.prefect("deployment", "schedule", "create", "rebalance/daily", "--cron", cron, "--timezone", "UTC")
    with api(pool) as client:
        deployment = client.read_deployment_by_name("rebalance/daily")
        deadline, runs = time.monotonic() + 180, []
        while not runs and time.monotonic() < deadline:
            found = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]))
            )
            runs = [r for r in found if r.expected_start_time == due]
            time.sleep(1)
    assert runs, f"no run scheduled at {due}"
    run = wait_final(pool, str(runs[0].id), timeout=420)
    assert run.state.is_completed(), f"{run.state.message}\n{pool.log('worker')}"
    assert run.parameters == {"only_on_schedule": True} and container_of(pool, str(run.id))
    pool.scheduled = run


def test_the_keys_are_in_no_job_variable_parameter_log_artifact_layer_or_object(pool, keys, image):
    texts: dict[str, str] = {"worker log": pool.log("worker", tail=10_000_000)}
    with api(pool) as client:
        for deployment in client.read_deployments():
            texts[f"deployment {deployment.name}"] = deployment.model_dump_json()
        runs = _every(client.read_flow_runs)
        assert len(runs) >= 3
        for run in runs:
            texts[f"flow run {run.id}"] = run.model_dump_json()  # parameters and job variables
        for log in _every(client.read_logs):
            texts[f"log {log.id}"] = log.model_dump_json()
        for artifact in _every(client.read_artifacts):
            texts[f"artifact {artifact.id}"] = artifact.model_dump_json()
    assert any(k.startswith("artifact") for k in texts) and any(k.startswith("log") for k in texts)
    for key, raw in objects(f"{pool.prefix}/").items():
        texts[f"s3 {key}"] = raw.decode("latin-1")
        if key.endswith(".parquet"):
            texts[f"s3 {key} decoded"] = pq.read_table(io.BytesIO(raw)).to_pandas().to_csv()
    assert any(".parquet" in k for k in texts) and any("prefect-results" in k for k in texts)
    assert_absent(keys, texts)
    assert found_in_layers(image["tag"], [k.encode() for k in keys]) == []
