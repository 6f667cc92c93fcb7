"""Run it like production: a real ``prefect server`` on loopback (SQLite in a temporary PREFECT_HOME), the
process work pool, ``prefect deploy --all`` from prefect.yaml, a worker; runs triggered with the CLI, a
failed execute retried with ``prefect flow-run retry``; the failure notification through an automation.
Also scheduled runs catching up once (the rule on its own: tests/test_catchup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from momentum.brokers.paper import LEDGER
from momentum.run import RunSummary
from momentum.store import VersionedStore
from momentum_cli.local_stack import DEPLOYMENTS, FLOW, POOL, REPO_ROOT, LocalStack
from momentum_cli.render import run_text
from tests.support.stack import api, submit, trigger, wait_final
from tests.support.webhook import Webhook, automations

UPSTREAM = ["bars", "benchmark", "validation", "scores", "orders"]
ARTIFACT_KEYS = {
    "validation-summary",
    "validation-report",
    "ranking",
    "target-portfolio",
    "order-plan",
    "fills",
    "reconciliation",
    "datasets",
    "run-summary",
}
LAST_SESSION = "2022-12-28"  # the embedded data's last session: the daily run's as_of
OWED = "2022-11-30"  # the latest signal session before it (months 2, 5, 8, 11)


def task_states(
    stack: LocalStack, flow_run_id: str, attempt: int, expect: tuple[str, ...] = (), timeout: float = 30
) -> dict[str, list[str]]:
    """task name (without its suffix) -> states of its runs in the flow run's ``attempt``-th run; waits
    until the ``expect`` tasks are recorded in a final state (the server records task runs and their states
    from events, a little later)."""
    deadline = time.monotonic() + timeout
    while True:
        with api(stack) as client:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
        out: dict[str, list[str]] = {}
        settled = True
        for run in runs:
            if run.flow_run_run_count == attempt:
                settled &= run.state is not None and run.state.is_final()
                out.setdefault(run.name.rsplit("-", 1)[0], []).append(
                    run.state.name if run.state else "unrecorded"
                )
        if (settled and all(name in out for name in expect)) or time.monotonic() > deadline:
            return out
        time.sleep(0.5)


def artifacts(stack: LocalStack, flow_run_id: str) -> dict:
    """key -> data of the flow run's latest artifact with that key (tables decoded to rows)."""
    with api(stack) as client:
        found = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    out = {}
    for artifact in sorted(found, key=lambda a: a.created):
        if artifact.key:
            data = artifact.data
            out[artifact.key] = (
                json.loads(data) if artifact.type == "table" and isinstance(data, str) else data
            )
    return out


def artifact_keys(stack: LocalStack, flow_run_id: str) -> set[str]:
    return set(artifacts(stack, flow_run_id))


def ledger(store: VersionedStore) -> pd.DataFrame:
    return store.read(store.resolve(LEDGER).ref)


def notify_failures_to(stack: LocalStack, webhook: Webhook) -> dict:
    """``momentum automations --webhook-url URL`` against the stack, as a user sets up the notification."""
    return automations(stack.env, "--webhook-url", webhook.url)


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


# --- prefect.yaml ---------------------------------------------------------------------------------
def test_prefect_yaml_deploys_every_deployment_on_the_local_pool(stack):
    """`prefect deploy --all` ran in the stack's start (it fails on a skipped or invalid file); check the
    deployments it made: schedule in New York time, parameters, pool, pull steps."""
    with api(stack) as client:
        daily = client.read_deployment_by_name(f"{FLOW}/daily")
        manual = client.read_deployment_by_name(f"{FLOW}/rebalance")
    assert {daily.name, manual.name} == set(DEPLOYMENTS)
    assert daily.work_pool_name == manual.work_pool_name == POOL
    assert daily.parameters == {"only_on_schedule": True} and manual.parameters == {"only_on_schedule": False}
    (schedule,) = daily.schedules
    assert schedule.schedule.cron == "30 19 * * 1-5" and schedule.schedule.timezone == "America/New_York"
    assert schedule.active and not manual.schedules
    steps = [next(iter(step)) for step in daily.pull_steps]
    assert steps == ["prefect.deployments.steps.set_working_directory", "tasks.secrets.secret_blocks_to_env"]
    assert (
        daily.pull_steps[0]["prefect.deployments.steps.set_working_directory"]["directory"]
        == "{{ $MOMENTUM_HOME }}"
    )


def test_serverless_prefect_file_is_valid():
    """The serverless variant (ECS push pool, image from ./Dockerfile) passes Prefect's own schema."""
    from prefect.cli.deploy._models import PrefectYamlModel

    raw = yaml.safe_load((REPO_ROOT / "scripts" / "prefect.serverless.yaml").read_text())
    model = PrefectYamlModel.model_validate(raw)
    assert {d.name for d in model.deployments} == set(DEPLOYMENTS)
    for deployment in raw["deployments"]:
        assert deployment["entrypoint"] == "flows/rebalance.py:rebalance"
        assert deployment["work_pool"]["job_variables"]["image"]
    assert raw["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"] == "/opt/momentum"
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "MOMENTUM_HOME=/opt/momentum" in dockerfile and "WORKDIR /opt/momentum" in dockerfile


# --- end to end -----------------------------------------------------------------------------------
def test_manual_rebalance_deployment_with_parameters_completes_with_artifacts(stack, tmp_path):
    store_url = str(tmp_path / "manual-store")
    run_id = trigger(stack, "rebalance", as_of=OWED, strategy="momentum", store_url=store_url)
    run = wait_final(stack, run_id)
    assert run.state.is_completed(), f"{run.state.message}\n{stack.log('worker')}"
    shown = artifacts(stack, run_id)
    assert ARTIFACT_KEYS <= set(shown)
    store = VersionedStore(store_url)
    (orders,) = store.refs("orders")
    plan = store.read(orders)
    assert [row["client_order_id"] for row in shown["order-plan"]] == list(plan["client_order_id"])
    assert {row["client_order_id"] for row in shown["fills"]} == set(plan["client_order_id"])
    assert {row["symbol"] for row in shown["reconciliation"]} >= set(plan["symbol"]) | {"$CASH"}
    assert len(shown["ranking"]) == 20 and "(file://" in shown["validation-report"]
    assert "passed" in shown["validation-summary"] and store_url in shown["datasets"]
    assert orders.as_of == OWED and store.manifest(orders).flow_run_id == run_id
    assert store.manifest(store.resolve("scores").ref).params["strategy"] == "momentum"
    assert set(ledger(store)["status"]) == {"accepted"}  # queued for the next close (order_timing close)
    worker = stack.log("worker", tail=200_000)
    assert "set_working_directory" in worker and "secret_blocks_to_env" in worker  # the pull steps ran


def test_failed_execute_notifies_and_a_retry_redoes_only_what_failed(stack, tmp_path, webhook):
    assert notify_failures_to(stack, webhook)["name"] == "momentum-run-failed"
    store_url = str(tmp_path / "daily-store")
    store = VersionedStore(store_url)
    store.fs.pipe_file(f"{store.root}/KILL_SWITCH", b"")  # execute refuses to send anything

    run_id = submit(stack, "daily", store_url=store_url)  # as_of 2022-12-28 owes the 2022-11-30 rebalance
    failed = wait_final(stack, run_id)
    assert failed.state.is_failed() and "kill switch" in failed.state.message
    assert task_states(stack, run_id, 1, expect=("execute",))["execute"] == ["Failed"]
    before = {name: store.refs(name) for name in UPSTREAM}
    assert {r.as_of for r in before["orders"]} == {OWED} and store.refs("executions") == []
    (notice,) = webhook.wait(timeout=60)[:1]
    assert run_id in notice["text"] and "Failed" in notice["subject"] and "kill switch" in notice["text"]

    store.fs.rm(f"{store.root}/KILL_SWITCH")
    stack.prefect("flow-run", "retry", run_id)
    retried = wait_final(stack, run_id)
    assert retried.state.is_completed(), f"{retried.state.message}\n{stack.log('worker')}"
    assert retried.run_count == 2
    states = task_states(
        stack,
        run_id,
        2,
        expect=("ingest", "ingest-benchmark", "validate", "score", "plan", "execute", "account", "summarize"),
    )
    for name in ("ingest", "ingest-benchmark", "validate", "score", "plan"):
        assert set(states[name]) == {"Cached"}, (name, states)
    assert states["execute"] == ["Completed"] and states["account"] == ["Completed"]
    assert {name: store.refs(name) for name in UPSTREAM} == before  # nothing upstream recomputed
    book = ledger(store)
    plan = store.read(before["orders"][-1])
    assert book["client_order_id"].is_unique and sorted(book["client_order_id"]) == sorted(
        plan["client_order_id"]
    )
    assert ARTIFACT_KEYS <= artifact_keys(stack, run_id)


def test_a_run_that_leaves_every_order_rejected_ends_failed_and_notifies(stack, tmp_path, webhook):
    notify_failures_to(stack, webhook)
    store_url = str(tmp_path / "rejected-store")
    traded = wait_final(
        stack, trigger(stack, "rebalance", as_of=LAST_SESSION, store_url=store_url, order_timing="market")
    )
    assert traded.state.is_completed(), traded.state.message
    run_id = trigger(
        stack, "rebalance", as_of=OWED, store_url=store_url, order_timing="market"
    )  # book past it
    failed = wait_final(stack, run_id)
    assert (
        failed.state.is_failed()
        and "6 of 6 orders not filled (4 rejected, 2 not sent)" in failed.state.message
    )
    store = VersionedStore(store_url)
    (executions,) = [ref for ref in store.refs("executions") if ref.as_of == OWED]
    assert (
        store.manifest(executions).flow_run_id == run_id
        and not (store.read(executions)["status"] == "filled").any()
    )
    deadline = time.monotonic() + 60
    while not any(run_id in body["text"] for body in webhook.bodies) and time.monotonic() < deadline:
        time.sleep(0.25)
    (notice,) = [body for body in webhook.bodies if run_id in body["text"]]
    assert "Failed" in notice["subject"] and "orders not filled" in notice["text"]


def test_secret_blocks_fill_only_missing_variables(stack):
    """The pull step that brings broker keys from Prefect Secret blocks into a run's environment (run in a
    child process like a flow run's: loading a block emits events, and a process keeps one events client)."""
    script = """
import json, os
from prefect.blocks.system import Secret
from tasks.secrets import secret_blocks_to_env
Secret(value="key-from-block").save("momentum-test-key-id", overwrite=True)
Secret(value="secret-from-block").save("momentum-test-secret-key", overwrite=True)
out = secret_blocks_to_env({"MOMENTUM_ALPACA_KEY_ID": "momentum-test-key-id",
                            "MOMENTUM_ALPACA_SECRET_KEY": "momentum-test-secret-key",
                            "MOMENTUM_TEST_SECRET": "no-such-block"})
keys = ("MOMENTUM_ALPACA_KEY_ID", "MOMENTUM_ALPACA_SECRET_KEY")
print(json.dumps({**out, "env": {k: os.environ.get(k) for k in keys}}))
"""
    env = {**stack.env, "MOMENTUM_ALPACA_SECRET_KEY": "from-the-environment"}
    env.pop("MOMENTUM_ALPACA_KEY_ID", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loaded"] == ["MOMENTUM_ALPACA_KEY_ID"] and out["missing"] == ["MOMENTUM_TEST_SECRET"]
    assert out["env"] == {
        "MOMENTUM_ALPACA_KEY_ID": "key-from-block",
        "MOMENTUM_ALPACA_SECRET_KEY": "from-the-environment",
    }


# --- the catch-up rule ------------------------------------------------------------------------------
@pytest.mark.usefixtures("prefect_api")
def test_scheduled_runs_catch_up_once(tmp_path):
    """In process (the test session's Prefect API, not the stack's: a process keeps one events client): a
    run owes the latest signal session's rebalance until it is executed, then the next runs send nothing;
    an older signal is never sent after a newer one."""
    from flows.rebalance import rebalance

    url = str(tmp_path / "store")
    market = {"only_on_schedule": True, "order_timing": "market"}  # filled at once: executed by the first run
    first = rebalance(as_of=LAST_SESSION, store_url=url, **market)
    book = ledger(VersionedStore(url))
    second = rebalance(as_of=LAST_SESSION, store_url=url, **market)
    earlier = rebalance(as_of="2022-11-29", store_url=url, **market)  # superseded
    assert first["rebalance"]["signal_session"] == OWED and first["rebalance"]["caught_up"]
    assert f"(caught up the rebalance of {OWED})" in run_text(RunSummary.from_json(first))
    assert "(plan and execution skipped: only_on_schedule)" in run_text(RunSummary.from_json(second))
    assert (
        first["datasets"]["bars"]["as_of"] == LAST_SESSION
        and first["datasets"]["signal_bars"]["as_of"] == OWED
    )
    assert {f["status"] for f in first["fills"]} == {"filled"} and len(book) == len(first["fills"])
    store = VersionedStore(url)
    plan = store.read(store.resolve("orders", as_of=OWED, strict_as_of=True).ref)
    targets = {(row["symbol"], row["weight"]) for row in first["target_portfolio"]}
    assert targets == set(
        zip(
            plan.loc[plan["target_weight"] > 0, "symbol"],
            plan.loc[plan["target_weight"] > 0, "target_weight"],
            strict=True,
        )
    )
    signal_scores = store.read(store.resolve("scores", as_of=OWED, strict_as_of=True).ref)
    assert [row["symbol"] for row in first["ranking"]] == list(
        signal_scores.sort_values(["momentum", "symbol"], ascending=[False, True])["symbol"].head(
            len(first["ranking"])
        )
    )
    assert f"target portfolio at the signal session {OWED}:" in run_text(RunSummary.from_json(first))
    for summary in (second, earlier):
        assert "orders" not in summary and not summary["rebalance"]["executed"]
    assert ledger(VersionedStore(url)).equals(book)
