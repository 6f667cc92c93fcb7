"""The run summary task: one :class:`RunSummary` for the CLI, ``--json`` and the Prefect UI (with
every artifact)."""

from __future__ import annotations

from dataclasses import replace

from prefect import task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.states import Failed, State

from momentum import definitions
from momentum.run import RunRefs, RunSummary, attention_line, run_artifacts, run_summary, summary_artifact
from momentum.settings import Settings
from tasks.artifacts import publish


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
    return replace(summary, artifacts=artifacts)


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
