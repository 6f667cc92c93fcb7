"""Prefect UI artifacts of a run: validation, ranking, target portfolio, order plan, fills, reconciliation
and links to the stored datasets and reports. Keys are lowercase-dashes, so each key's history across
runs is one page of the UI (Artifacts -> key). Created by the (never cached) summary task, so every run,
a retried one too, has the whole set."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pandas as pd
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from momentum.records import json_records as rows
from momentum.run import RunRefs, RunSummary
from momentum.store import DatasetRef, VersionedStore
from momentum.validation import render_markdown

RANKING_ROWS = 20
KEYS = (
    "validation-summary",
    "validation-report",
    "ranking",
    "target-portfolio",
    "order-plan",
    "fills",
    "reconciliation",
    "datasets",
)


def browsable_url(url: str) -> str:
    """A URL a browser can open: file:// for a local path; for s3://bucket/key the endpoint's URL
    (``AWS_ENDPOINT_URL``, e.g. a local S3-compatible server) or the AWS console's object page."""
    if url.startswith("s3://"):
        bucket, _, key = url.removeprefix("s3://").partition("/")
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{bucket}/{quote(key)}"
        return f"https://s3.console.aws.amazon.com/s3/object/{bucket}?prefix={quote(key)}"
    if "://" in url:
        return url
    return Path(url).resolve().as_uri()


def validation_report_url(store: VersionedStore, ref: DatasetRef) -> str:
    """Where :func:`tasks.validate.validate` put the HTML report of the validation version ``ref``."""
    return f"{store.url}/reports/validation/{ref.as_of}/{ref.version}.html"


def _table(key: str, frame: pd.DataFrame, description: str, empty: str) -> None:
    if len(frame):
        create_table_artifact(rows(frame), key=key, description=description)
    else:
        create_markdown_artifact(f"_{empty}_", key=key, description=description)


def publish(store: VersionedStore, refs: RunRefs, summary: RunSummary) -> list[str]:
    """Create every artifact of a run; returns their keys."""
    report = browsable_url(validation_report_url(store, refs.scored.validation))
    _publish_validation(store, refs, summary.as_of, report)
    _publish_ranking(store, refs, summary.as_of)
    if refs.orders is not None and refs.executions is not None and refs.account is not None:
        _publish_rebalance(store, refs, summary.as_of)
    else:
        why = (
            f"No rebalance owed as of {summary.as_of} "
            f"(next signal session {summary.rebalance.next_signal_session})."
        )
        for key in ("order-plan", "fills", "reconciliation"):
            create_markdown_artifact(why, key=key, description=why)
    _publish_datasets(store, refs, summary, report)
    return list(KEYS)


def _publish_validation(store: VersionedStore, refs: RunRefs, as_of: str, report: str) -> None:
    """``validation-summary`` (the checks in markdown) and ``validation-report`` (the HTML report's link)."""
    create_markdown_artifact(
        render_markdown(store.read(refs.scored.validation), report),
        key="validation-summary",
        description=f"validation of bars as of {as_of}",
    )
    create_link_artifact(
        report,
        link_text=f"validation report {as_of}",
        key="validation-report",
        description=f"HTML validation report of bars as of {as_of}",
    )


def _publish_ranking(store: VersionedStore, refs: RunRefs, as_of: str) -> None:
    """``ranking`` (the top names by 12-1 momentum) and ``target-portfolio`` (the weights planned from)."""
    scores = store.read(refs.scored.scores)
    ranked = scores.sort_values(["momentum", "symbol"], ascending=[False, True], na_position="last")
    create_table_artifact(
        rows(
            ranked.head(RANKING_ROWS)[
                ["symbol", "momentum", "fip", "eligible", "selected", "weight", "reason"]
            ]
        ),
        key="ranking",
        description=f"top {RANKING_ROWS} by 12-1 momentum as of {as_of}",
    )
    planned_from = refs.traded.scores
    target = scores if planned_from == refs.scored.scores else store.read(planned_from)
    _table(
        "target-portfolio",
        target[target["weight"] > 0][["symbol", "weight"]].sort_values("symbol"),
        f"target weights as of {planned_from.as_of}",
        "no selection",
    )


def _publish_rebalance(store: VersionedStore, refs: RunRefs, as_of: str) -> None:
    """``order-plan``, ``fills`` and ``reconciliation`` of the rebalance this run traded."""
    assert refs.orders is not None and refs.executions is not None and refs.account is not None  # publish()
    signal = refs.orders.as_of
    caught_up = f" (caught up on {as_of})" if signal != as_of else ""
    _table(
        "order-plan",
        store.read(refs.orders),
        f"order plan of the {signal} rebalance{caught_up}",
        "the plan has no orders: the account already holds the target",
    )
    _table(
        "fills",
        store.read(refs.executions),
        f"broker outcome of every order of the {signal} rebalance",
        "no orders",
    )
    account = store.read(refs.account)
    _table(
        "reconciliation",
        account,
        f"account after the {signal} rebalance; plan_difference = broker - target "
        f"(value ${float(account['market_value'].sum()):,.2f})",
        "empty account",
    )


def _publish_datasets(store: VersionedStore, refs: RunRefs, summary: RunSummary, report: str) -> None:
    """``datasets``: every dataset version the run wrote or read, with links, and the validation report."""
    listing = "\n".join(
        f"| {name} | {d.as_of} | {d.version} | [{d.path}]({browsable_url(d.path)}) |"
        for name, d in summary.datasets.items()
    )
    create_markdown_artifact(
        f"Store: {store.url}\n\n| dataset | as_of | version | data |\n|---|---|---|---|\n{listing}\n\n"
        f"Validation report: [{validation_report_url(store, refs.scored.validation)}]({report})",
        key="datasets",
        description=f"datasets of the run as of {summary.as_of}",
    )
