"""The run summary task: one :class:`RunSummary` for the CLI, ``--json`` and the Prefect UI (with
every artifact)."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE
from prefect.states import Failed, State

from momentum.run import RunRefs, RunSummary, attention_line, run_summary
from momentum.settings import Settings
from tasks.artifacts import publish
from tasks.common import open_store


@task(name="summarize", cache_policy=NO_CACHE)
def summarize(settings: Settings, refs: RunRefs) -> RunSummary:
    """The summary of the run, and its artifacts (never cached, so a retried run gets them too)."""
    store = open_store(settings)
    summary = run_summary(
        store,
        refs,
        provider=settings.provider,
        broker=settings.broker,
        rebalance_months=settings.rebalance_months,
    )
    artifacts = publish(store, refs, summary)
    datasets = "\n".join(f"| {name} | {d.version} | {d.path} |" for name, d in summary.datasets.items())
    account = asdict(summary.account) if summary.account is not None else {}
    create_markdown_artifact(
        f"Run as of {summary.as_of}\n\n| dataset | version | path |\n|---|---|---|\n{datasets}\n\n"
        f"```json\n{json.dumps(account, indent=1, default=str)[:4000]}\n```",
        key="run-summary",
        description=f"momentum run as of {summary.as_of}",
    )
    return replace(summary, artifacts=[*artifacts, "run-summary"])


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
