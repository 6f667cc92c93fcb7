"""What can be traded: point-in-time S&P 500 membership and its freshness, universe files, symbol spelling."""

from __future__ import annotations

from momentum.universe._file import UniverseFileError, symbol_key
from momentum.universe._freshness import (
    MAX_STALE_DAYS,
    MembershipTooOld,
    membership_data_end,
    membership_freshness,
)
from momentum.universe._live import file_symbols, run_symbols, universe_at
from momentum.universe._membership import (
    COMPLETE_FROM,
    SWITCH_DATE,
    UNKNOWN_OPT_IN,
    file_membership,
    members_at,
    sp500_members,
    sp500_membership,
    sp500_sources,
)
from momentum.universe._spec import UniverseSpec, scored_members, universe_lineage, universe_members

__all__ = [
    "COMPLETE_FROM",
    "MAX_STALE_DAYS",
    "MembershipTooOld",
    "SWITCH_DATE",
    "UNKNOWN_OPT_IN",
    "UniverseFileError",
    "UniverseSpec",
    "file_membership",
    "file_symbols",
    "members_at",
    "membership_data_end",
    "membership_freshness",
    "run_symbols",
    "scored_members",
    "sp500_members",
    "sp500_membership",
    "sp500_sources",
    "symbol_key",
    "universe_at",
    "universe_lineage",
    "universe_members",
]
