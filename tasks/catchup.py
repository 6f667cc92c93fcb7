"""Which rebalance a run executes: the as_of itself, or (scheduled runs) the owed signal session."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE as NO_CACHE

from momentum import definitions
from momentum.run import owed_rebalance
from momentum.settings import Settings


@task(name="due-rebalance", cache_policy=NO_CACHE)
def due_rebalance(settings: Settings, as_of: str) -> str | None:
    """``as_of`` for an unscheduled run; for ``only_on_schedule`` the latest signal session <= as_of
    whose rebalance has not been executed yet (None: nothing owed). Never cached: it reads the store
    each time, so a retried or later run sees what earlier runs committed."""
    if not settings.only_on_schedule:
        return as_of
    return owed_rebalance(definitions.resources(settings).store, as_of, settings.rebalance_months)
