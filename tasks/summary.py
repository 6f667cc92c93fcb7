"""The run summary task: one dict for the CLI, ``--json`` and the Prefect UI."""

from __future__ import annotations

import json

from prefect import task
from prefect.artifacts import create_markdown_artifact

from momentum.report import run_summary
from momentum.settings import Settings
from momentum.store import DatasetRef
from tasks.common import open_store


@task(name="summarize")
def summarize(settings: Settings, refs: dict[str, DatasetRef]) -> dict:
    summary = run_summary(open_store(settings), refs, settings)
    datasets = "\n".join(f"| {name} | {d['version']} | {d['path']} |" for name, d in summary["datasets"].items())
    create_markdown_artifact(
        f"Run as of {summary['as_of']}\n\n| dataset | version | path |\n|---|---|---|\n{datasets}\n\n"
        f"```json\n{json.dumps(summary.get('account', {}), indent=1, default=str)[:4000]}\n```",
        key="run-summary", description=f"momentum run as of {summary['as_of']}",
    )
    return summary
