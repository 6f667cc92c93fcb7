"""The run summary task: one :class:`RunSummary` for the CLI, ``--json`` and the Prefect UI (with
every artifact), and the ``momentum.rebalance.executed`` event when the run filled orders."""

from __future__ import annotations

from dataclasses import replace

from prefect import task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.settings import get_current_settings
from prefect.states import Failed, State

from momentum import definitions
from momentum.run import (
    REBALANCE_EXECUTED,
    RunRefs,
    RunSummary,
    attention_line,
    run_artifacts,
    run_summary,
    summary_artifact,
    trade_notice,
)
from momentum.settings import Settings
from tasks.artifacts import publish
from tasks.common import current_flow_run_id


@task(name="summarize", cache_policy=NO_CACHE)
def summarize(settings: Settings, refs: RunRefs) -> RunSummary:
    """The summary of the run, and its artifacts (never cached, so a retried run gets them too)."""
    store = definitions.resources(settings).store
    summary = run_summary(
        store,
        refs,
        provider=settings.provider,
        broker=settings.broker,
        rebalance_months=settings.rebalance_months,
    )
    artifacts = publish([*run_artifacts(store, refs, summary), summary_artifact(summary)])
    summary = replace(summary, artifacts=artifacts)
    announce_trades(summary)
    return summary


def announce_trades(summary: RunSummary) -> None:
    """The event ``momentum.rebalance.executed`` of this flow run, its payload the trade notice (message
    and fields), when the run filled orders; the automation of ``momentum automations --trades`` sends
    it. Nothing when the run filled nothing."""
    run_id = current_flow_run_id()
    if run_id is None:
        return
    notice = trade_notice(summary.to_json(), run_id, get_current_settings().ui_url)
    if notice is None:
        return
    name = flow_run.get_name() or run_id
    resource = {"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.name": name}
    emit_event(event=REBALANCE_EXECUTED, resource=resource, payload=notice)


def run_outcome(summary: RunSummary) -> dict | State:
    """The ``--json`` summary, or a Failed state carrying it when orders were left rejected, unfilled or
    not sent (everything is committed first; the failure notification then tells someone)."""
    execution = summary.execution
    if execution is None or not execution.attention:
        return summary.to_json()
    signal = summary.rebalance.signal_session or summary.as_of
    return Failed(
        message=f"{attention_line(execution)}, rebalance of {signal} (first: {execution.headline})",
        data=summary.to_json(),
    )
