"""Validation gate: the great-expectations suite on the run's bars; fails the run on dataset-level errors."""

from __future__ import annotations

import pandas as pd
from prefect.artifacts import create_markdown_artifact

from momentum import definitions
from momentum.calendar import nyse_sessions
from momentum.errors import PermanentError
from momentum.run import validation_report_key
from momentum.settings import Settings
from momentum.store import DatasetRef
from momentum.strategy import min_history
from momentum.validation import FetchReport, GateLimits, render_html, render_markdown, validate_bars
from tasks.common import current_flow_run_id, stage


class ValidationFailed(PermanentError):
    """The bars failed validation at dataset level: the run stops, nothing downstream (no order) runs."""


def _benchmark_last(store, benchmark_ref: DatasetRef | None) -> pd.Timestamp | None:
    if benchmark_ref is None:
        return None
    dates = store.read(benchmark_ref, columns=["date"])["date"]
    return pd.Timestamp(dates.max()) if len(dates) else pd.NaT


def _gate_params(settings: Settings) -> dict:
    """The validation gate's limits, recorded as the ``validation`` dataset's params."""
    return {
        "min_history": min_history(settings.lookback),
        "max_stale_sessions": settings.max_stale_sessions,
        "max_quarantine_fraction": settings.max_quarantine_fraction,
    }


@stage("validate")
def validate(settings: Settings, bars_ref: DatasetRef, benchmark_ref: DatasetRef | None = None) -> DatasetRef:
    """Bars (and the benchmark's last date) -> dataset ``validation`` (+ HTML report); raises
    :class:`ValidationFailed` when blocking. The symbols a live provider was asked for come from the
    ``bars`` lineage (params ``requested_symbols``), the ones it dropped from the stored frame's
    ``rejected``."""
    store = definitions.resources(settings).store
    bars = store.read(bars_ref)
    as_of = pd.Timestamp(bars_ref.as_of)
    start = bars["date"].min() if len(bars) else as_of
    params = _gate_params(settings)
    result = validate_bars(
        bars,
        as_of=as_of,
        sessions=nyse_sessions(start, as_of),
        limits=GateLimits(**params),
        fetched=FetchReport(
            expected=store.manifest(bars_ref).params.get("requested_symbols"),
            rejected=bars.attrs.get("rejected") or {},
            benchmark_last=_benchmark_last(store, benchmark_ref),
        ),
    )
    inputs = {"bars": bars_ref} | ({"benchmark": benchmark_ref} if benchmark_ref is not None else {})
    ref = store.write(
        "validation",
        bars_ref.as_of,
        result.table,
        inputs=inputs,
        params=params,
        flow_run_id=current_flow_run_id(),
    )
    url = store.put_report(
        validation_report_key(ref),
        render_html(result, title=f"Validation of bars {bars_ref}"),
    )
    create_markdown_artifact(
        render_markdown(result.table, url, result.summary), key="validation", description=result.summary
    )
    if not result.passed:
        raise ValidationFailed(f"validation failed: {result.summary}")
    return ref
