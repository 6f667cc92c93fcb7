"""The Prefect UI of the local stack, in Debian's headless chromium (no browser download): the deployments
page lists both deployments and the daily schedule; following the page's own link to the manual
deployment, its Runs tab shows a Completed run of it, and so does the run's own page."""

from __future__ import annotations

import re
import time
from pathlib import Path

from momentum_cli.local_stack import FLOW
from tests.support.chromium import CHROMIUM, dump_dom, visible_text
from tests.support.stack import api, trigger, wait_final

INSTALL = "apt-get install -y chromium chromium-driver"
UI_FLAGS = ["--disable-dev-shm-usage", "--window-size=1400,2400"]  # after the usual ones


def page_text(url: str, profile: Path, budget_ms: int) -> tuple[str, str]:
    """(DOM, visible text) of ``url`` after ``budget_ms`` of virtual time (the UI is a JS app)."""
    dom = dump_dom(url, profile, *UI_FLAGS, f"--virtual-time-budget={budget_ms}").stdout
    return dom, visible_text(dom)


def wait_for_page(url: str, profile: Path, *needles: str, tries: int = 6) -> tuple[str, str]:
    """The page once every needle (a regex) is in its text. The UI's lists sometimes render after the
    dump (more often on a busy machine): load it again, with more virtual time, a few times."""
    for attempt in range(tries):
        dom, text = page_text(url, profile, budget_ms=min(30_000 * (attempt + 1), 90_000))
        if all(re.search(n, text) for n in needles):
            return dom, text
        time.sleep(1)
    missing = [n for n in needles if not re.search(n, text)]
    raise AssertionError(f"{url}: {missing} not found in the page text:\n{text[:3000]}")


def completed_run_of(stack, deployment: str, tmp_path: Path):
    """A Completed flow run of ``deployment`` (an earlier test's, or a new one on a fresh store)."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    with api(stack) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["COMPLETED"]))
            ),
        )
    if runs:
        return runs[0]
    run = wait_final(stack, trigger(stack, deployment, store_url=str(tmp_path / "ui-store")))
    assert run.state.is_completed(), run.state.message
    return run


def test_ui_lists_the_deployments_and_a_completed_run(stack, tmp_path):
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: this test needs Debian's chromium ({INSTALL})"
    run = completed_run_of(stack, "rebalance", tmp_path)
    profile = tmp_path / "chromium-profile"

    dom, text = wait_for_page(
        f"{stack.ui_url}/deployments",
        profile,
        r"\bdaily\b",
        r"\brebalance\b",
        r"At 07:30 PM, Monday through Friday",
    )
    assert "Deployments" in text
    with api(stack) as client:
        manual = client.read_deployment_by_name(f"{FLOW}/rebalance")
    links = set(re.findall(r'href="(/deployments/deployment/[0-9a-f-]{36})"', dom))
    assert f"/deployments/deployment/{manual.id}" in links, links  # the link a user would click

    wait_for_page(
        f"{stack.ui_url}/deployments/deployment/{manual.id}?tab=Runs",
        profile,
        rf"{re.escape(run.name)} .{{0,80}}Completed",
        r"Work Pool momentum-local",
    )
    wait_for_page(
        f"{stack.ui_url}/runs/flow-run/{run.id}",
        profile,  # the run's own page
        rf"{re.escape(run.name)} .{{0,80}}Completed",
        rf"Deployment {re.escape(manual.name)}\b",
    )
