"""The Prefect UI artifacts of a run: validation, ranking, target portfolio, order plan, fills,
reconciliation and links to the stored datasets and reports. Keys are lowercase-dashes, so each key's
history across runs is one page of the UI (Artifacts -> key)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

from momentum.records import Artifact, json_records, table_or_note
from momentum.run._contracts import RunRefs, RunSummary
from momentum.store import DatasetRef, VersionedStore
from momentum.validation import render_markdown

RANKING_ROWS = 20


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


def validation_report_key(ref: DatasetRef) -> str:
    """Where, under the store's ``reports/``, the HTML report of the validation version ``ref`` goes."""
    return f"validation/{ref.as_of}/{ref.version}.html"


def run_artifacts(store: VersionedStore, refs: RunRefs, summary: RunSummary) -> list[Artifact]:
    """Every artifact of a run (one per key: a run that owed no rebalance says so under the rebalance's)."""
    report_url = f"{store.url}/reports/{validation_report_key(refs.scored.validation)}"
    found = _validation(store, refs, summary.as_of, browsable_url(report_url))
    found += _ranking(store, refs, summary.as_of)
    if refs.orders is not None and refs.executions is not None and refs.account is not None:
        found += _rebalance(store, refs, summary.as_of)
    else:
        why = (
            f"No rebalance owed as of {summary.as_of} "
            f"(next signal session {summary.rebalance.next_signal_session})."
        )
        found += [
            Artifact(key, "markdown", why, text=why) for key in ("order-plan", "fills", "reconciliation")
        ]
    return [*found, _datasets(store, summary, report_url)]


def _validation(store: VersionedStore, refs: RunRefs, as_of: str, report: str) -> list[Artifact]:
    """``validation-summary`` (the checks in markdown) and ``validation-report`` (the HTML report's link)."""
    return [
        Artifact(
            "validation-summary",
            "markdown",
            f"validation of bars as of {as_of}",
            text=render_markdown(store.read(refs.scored.validation), report),
        ),
        Artifact(
            "validation-report",
            "link",
            f"HTML validation report of bars as of {as_of}",
            text=report,
            link_text=f"validation report {as_of}",
        ),
    ]


def _ranking(store: VersionedStore, refs: RunRefs, as_of: str) -> list[Artifact]:
    """``ranking`` (the top names by 12-1 momentum) and ``target-portfolio`` (the weights planned from)."""
    scores = store.read(refs.scored.scores)
    ranked = scores.sort_values(["momentum", "symbol"], ascending=[False, True], na_position="last")
    shown = ranked.head(RANKING_ROWS)[
        ["symbol", "momentum", "fip", "eligible", "selected", "weight", "reason"]
    ]
    planned_from = refs.traded.scores
    target = scores if planned_from == refs.scored.scores else store.read(planned_from)
    return [
        Artifact(
            "ranking", "table", f"top {RANKING_ROWS} by 12-1 momentum as of {as_of}", rows=json_records(shown)
        ),
        table_or_note(
            "target-portfolio",
            target[target["weight"] > 0][["symbol", "weight"]].sort_values("symbol"),
            f"target weights as of {planned_from.as_of}",
            "no selection",
        ),
    ]


def _rebalance(store: VersionedStore, refs: RunRefs, as_of: str) -> list[Artifact]:
    """``order-plan``, ``fills`` and ``reconciliation`` of the rebalance this run traded."""
    assert refs.orders is not None and refs.executions is not None and refs.account is not None
    signal = refs.orders.as_of
    caught_up = f" (caught up on {as_of})" if signal != as_of else ""
    account = store.read(refs.account)
    return [
        table_or_note(
            "order-plan",
            store.read(refs.orders),
            f"order plan of the {signal} rebalance{caught_up}",
            "the plan has no orders: the account already holds the target",
        ),
        table_or_note(
            "fills",
            store.read(refs.executions),
            f"broker outcome of every order of the {signal} rebalance",
            "no orders",
        ),
        table_or_note(
            "reconciliation",
            account,
            f"account after the {signal} rebalance; plan_difference = broker - target "
            f"(value ${float(account['market_value'].sum()):,.2f})",
            "empty account",
        ),
    ]


def _datasets(store: VersionedStore, summary: RunSummary, report_url: str) -> Artifact:
    """``datasets``: every dataset version the run wrote or read, with links, and the validation report."""
    listing = "\n".join(
        f"| {name} | {d.as_of} | {d.version} | [{d.path}]({browsable_url(d.path)}) |"
        for name, d in summary.datasets.items()
    )
    return Artifact(
        "datasets",
        "markdown",
        f"datasets of the run as of {summary.as_of}",
        text=f"Store: {store.url}\n\n| dataset | as_of | version | data |\n|---|---|---|---|\n{listing}\n\n"
        f"Validation report: [{report_url}]({browsable_url(report_url)})",
    )


def summary_artifact(summary: RunSummary) -> Artifact:
    """``run-summary``: the datasets of the run and its account, in markdown."""
    datasets = "\n".join(f"| {name} | {d.version} | {d.path} |" for name, d in summary.datasets.items())
    account = asdict(summary.account) if summary.account is not None else {}
    return Artifact(
        "run-summary",
        "markdown",
        f"momentum run as of {summary.as_of}",
        text=f"Run as of {summary.as_of}\n\n| dataset | version | path |\n|---|---|---|\n{datasets}\n\n"
        f"```json\n{json.dumps(account, indent=1, default=str)[:4000]}\n```",
    )
