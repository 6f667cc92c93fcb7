"""Scoring: the strategy's score table at as_of from validated bars -> dataset ``scores``."""

from __future__ import annotations

import pandas as pd
from prefect import task

from momentum import definitions
from momentum.providers import bars_to_wide
from momentum.settings import Settings
from momentum.store import DatasetRef
from momentum.strategy import score_at
from momentum.universe import membership_freshness, universe_members
from momentum.validation import quarantined_symbols
from tasks.common import STAGE, current_flow_run_id, open_store


@task(name="score", **STAGE)
def score(
    settings: Settings, bars_ref: DatasetRef, validation_ref: DatasetRef, benchmark_ref: DatasetRef
) -> DatasetRef:
    """Momentum, fip, eligibility and selection per symbol (quarantined symbols are ineligible)."""
    store = open_store(settings)
    closes = bars_to_wide(store.read(bars_ref, columns=["date", "symbol", "adj_close"]))
    benchmark = store.read(benchmark_ref).set_index("date")["close"]
    params, universe = definitions.strategy_params(settings), definitions.universe_spec(settings)
    as_of = pd.Timestamp(bars_ref.as_of)
    membership = (
        {"membership_as_of": membership_freshness(as_of).membership_as_of} if universe.kind == "sp500" else {}
    )
    # symbols asked for but absent from the data (a live provider's missing names) are known to the universe
    asked = store.manifest(bars_ref).params.get("requested_symbols") or []
    members = universe_members(universe, sorted(set(closes.columns) | set(asked)), as_of)
    members = members & set(closes.columns) if members is not None else None
    table = score_at(
        closes,
        members=members,
        quarantined=quarantined_symbols(store.read(validation_ref)),
        benchmark=benchmark,
        params=params,
    )
    return store.write(
        "scores",
        bars_ref.as_of,
        table,
        inputs={"bars": bars_ref, "validation": validation_ref, "benchmark": benchmark_ref},
        params={
            **params.as_dict(),
            "universe": settings.universe,
            "universe_file": settings.universe_file,
            **membership,
        },
        flow_run_id=current_flow_run_id(),
    )
