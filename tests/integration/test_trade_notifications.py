"""Trade notifications through a real Prefect API: ``momentum automations --trades`` creates the
automation, a rebalance that fills orders emits ``momentum.rebalance.executed``, the server's triggers and
actions services send its message to a loopback webhook; a run that fills nothing sends none."""

from __future__ import annotations

import os
import re
import time

import httpx
import pytest
from prefect.settings import PREFECT_UI_URL, get_current_settings, temporary_settings

from flows.rebalance import rebalance
from momentum.store import VersionedStore
from momentum_cli.automations_cmd import AUTOMATION, TRADES_AUTOMATION
from tests.support.webhook import Webhook, automations

pytestmark = pytest.mark.usefixtures("prefect_api")
UI_URL = "https://prefect.example.com/ui"
ORDER_LINE = re.compile(r"^\s*(BUY|SELL) (\S+) (\S+) @ (\S+)$")


def run_automations(*args: str) -> dict:
    """``momentum automations ARGS`` in a new process against the test's Prefect API: its JSON."""
    return automations(os.environ | {"PREFECT_API_URL": get_current_settings().api.url}, *args)


def automation_names() -> set[str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {a.name for a in client.read_automations()}


def run(as_of: str, store_url: str, **parameters: object) -> tuple[str, dict]:
    """A rebalance in this process (the paper broker, embedded data) with PREFECT_UI_URL set: its flow
    run id and summary."""
    with temporary_settings({PREFECT_UI_URL: UI_URL}):
        state = rebalance(as_of=as_of, store_url=store_url, return_state=True, **parameters)
    assert state.is_completed(), state.message
    return str(state.state_details.flow_run_id), state.result()


def executed_events(flow_run_id: str) -> list[dict]:
    """The ``momentum.rebalance.executed`` events the API has stored about the flow run (the server
    stores events in batches, a few seconds after they arrive)."""
    response = httpx.post(
        f"{get_current_settings().api.url}/events/filter",
        json={
            "filter": {
                "event": {"name": ["momentum.rebalance.executed"]},
                "resource": {"id": [f"prefect.flow-run.{flow_run_id}"]},
            }
        },
    )
    response.raise_for_status()
    return response.json()["events"]


def announced_orders(text: str) -> set[tuple[str, str, float, float]]:
    """(side, symbol, quantity, price) of each ``BUY 12 AAPL @ 189.23`` line."""
    return {
        (side.lower(), symbol, float(qty), float(price))
        for side, qty, symbol, price in (m.groups() for m in map(ORDER_LINE.match, text.splitlines()) if m)
    }


def stored_executed_events(flow_run_id: str, timeout: float = 60) -> list[dict]:
    """:func:`executed_events` once there is one, waiting for the server to store it."""
    deadline = time.monotonic() + timeout
    while not (events := executed_events(flow_run_id)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert events, f"momentum.rebalance.executed of flow run {flow_run_id} not stored within {timeout} s"
    return events


def filled(store: VersionedStore, flow_run_id: str) -> set[tuple[str, str, float, float]]:
    """(side, symbol, quantity, price) of each order the flow run's executions dataset has filled."""
    (ref,) = [r for r in store.refs("executions") if store.manifest(r).flow_run_id == flow_run_id]
    executions = store.read(ref)
    rows = executions[executions["filled_qty"] > 0]
    return {
        (r.side, r.symbol, float(r.filled_qty), float(r.filled_avg_price))
        for r in rows.itertuples(index=False)
    }


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def clean_automations():
    """Deletes the automations the test created (the API is shared by the session)."""
    yield
    from prefect.automations import Automation

    for name in (AUTOMATION, TRADES_AUTOMATION):
        try:
            Automation.read(name=name).delete()
        except ValueError:
            pass


@pytest.mark.usefixtures("clean_automations")
def test_without_trades_only_the_failure_automation(webhook):
    created = run_automations("--webhook-url", webhook.url)
    assert list(created) == ["automation", "name", "block", "block_id"]
    assert created["name"] == AUTOMATION and created["block"] == "momentum-failure"
    names = automation_names()
    assert AUTOMATION in names and TRADES_AUTOMATION not in names


@pytest.mark.usefixtures("clean_automations")
def test_an_executed_rebalance_is_announced_and_a_run_that_fills_nothing_is_not(webhook, tmp_path):
    created = run_automations("--trades", "--webhook-url", webhook.url)
    assert created["name"] == AUTOMATION and created["trades"]["name"] == TRADES_AUTOMATION
    assert created["trades"]["block"] == "momentum-trades"
    assert {AUTOMATION, TRADES_AUTOMATION} <= automation_names()
    store_url = str(tmp_path / "store")
    store = VersionedStore(store_url)

    queued_id, _ = run("2022-11-30", store_url, only_on_schedule=True)  # on-close orders: nothing filled yet
    first_id, first = run("2022-12-01", store_url, only_on_schedule=True)  # found filled at that close
    notice = webhook.wait_for(lambda b: first_id in b["text"], "trade notification of the first rebalance")
    assert notice["subject"] == "momentum: rebalance of 2022-11-30 executed (5 buys, 0 sells, paper broker)"
    assert announced_orders(notice["text"]) == filled(store, first_id)
    assert f"cash ${first['account']['cash']:,.2f}," in notice["text"]
    for position in first["account"]["positions"]:
        assert f"{position['symbol']} {position['qty']:g} shares" in notice["text"]
    assert f"{UI_URL}/runs/flow-run/{first_id}" in notice["text"].splitlines()

    again_id, _ = run("2022-11-30", store_url)  # every order found filled at the broker: nothing new
    last_id, _ = run("2022-12-28", store_url, order_timing="market")  # sells and buys filled at once
    later = webhook.wait_for(lambda b: last_id in b["text"], "trade notification of the next rebalance")
    assert announced_orders(later["text"]) == filled(store, last_id)
    assert {side for side, *_ in announced_orders(later["text"])} == {"buy", "sell"}
    assert [e["payload"]["flow_run_id"] for e in stored_executed_events(first_id)] == [first_id]
    stored_executed_events(last_id)  # stored after the silent run's would have been
    for silent in (queued_id, again_id):
        assert executed_events(silent) == [], "a run that filled nothing emitted momentum.rebalance.executed"
        assert not [b for b in webhook.bodies if silent in b["text"]], (
            "a run that filled nothing was announced"
        )
    assert len(webhook.bodies) == 2, webhook.bodies
