"""Scoring: the strategy's score table at as_of from validated bars -> dataset ``scores``."""

from __future__ import annotations

import pandas as pd

from momentum import definitions
from momentum.providers import bars_to_wide
from momentum.settings import Settings
from momentum.store import DatasetRef
from momentum.strategy import score_at
from momentum.universe import scored_members, universe_lineage
from momentum.validation import quarantined_symbols
from tasks.common import current_flow_run_id, stage


@stage("score")
def score(
    settings: Settings, bars_ref: DatasetRef, validation_ref: DatasetRef, benchmark_ref: DatasetRef
) -> DatasetRef:
    """Momentum, fip, eligibility and selection per symbol (quarantined symbols are ineligible)."""
    res, as_of = definitions.resources(settings), pd.Timestamp(bars_ref.as_of)
    store = res.store
    closes = bars_to_wide(store.read(bars_ref, columns=["date", "symbol", "adj_close"]))
    universe = universe_lineage(res.universe, as_of)
    requested = store.manifest(bars_ref).params.get("requested_symbols") or []
    table = score_at(
        closes,
        members=scored_members(res.universe, list(closes.columns), requested, as_of),
        quarantined=quarantined_symbols(store.read(validation_ref)),
        benchmark=store.read(benchmark_ref).set_index("date")["close"],
        params=res.strategy,
    )
    return store.write(
        "scores",
        bars_ref.as_of,
        table,
        inputs={"bars": bars_ref, "validation": validation_ref, "benchmark": benchmark_ref},
        params={**res.strategy.as_dict(), **universe},
        flow_run_id=current_flow_run_id(),
    )
