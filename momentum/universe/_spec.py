"""The configured universe as a value: which rule picks the symbols the strategy may hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from momentum.universe._freshness import membership_freshness
from momentum.universe._membership import file_membership, members_at, sp500_membership


@dataclass(frozen=True)
class UniverseSpec:
    """``universe`` as configured (auto, sp500, all, file), ``provider`` the data's source (``auto``
    resolves by it) and ``universe_file`` the members file of ``file``."""

    universe: str = "auto"
    provider: str = "embedded"
    universe_file: str | None = None

    @property
    def kind(self) -> str:
        """``sp500``, ``all`` or ``file``: ``auto`` is the S&P 500 for the embedded and alpaca data, else
        every symbol."""
        if self.universe == "auto":
            return "sp500" if self.provider in ("embedded", "alpaca") else "all"
        return self.universe


def universe_members(spec: UniverseSpec, symbols: Sequence[str], as_of: pd.Timestamp) -> set[str] | None:
    """The symbols in the configured universe at ``as_of``; None means every symbol (``all``).

    ``auto`` is the point-in-time S&P 500 for the embedded and alpaca data, every symbol otherwise.
    """
    kind = spec.kind
    if kind == "all":
        return None
    dates = pd.DatetimeIndex([pd.Timestamp(as_of)])
    if kind == "sp500":
        return members_at(sp500_membership(symbols, dates), as_of)
    return members_at(file_membership(str(spec.universe_file), symbols, dates), as_of)


def scored_members(
    spec: UniverseSpec, present: Sequence[str], requested: Sequence[str], as_of: pd.Timestamp
) -> set[str] | None:
    """The universe's members at ``as_of`` among the symbols with data (``present``); None: every symbol.

    The universe is asked about the symbols a live provider was asked for (``requested``) too, so a
    member missing from the data is still known to it; only members with data are kept.
    """
    members = universe_members(spec, sorted(set(present) | set(requested)), as_of)
    return members & set(present) if members is not None else None


def universe_lineage(spec: UniverseSpec, as_of: pd.Timestamp) -> dict[str, str | None]:
    """What the scores record of the universe they used: the setting, its file and, for the S&P 500, the
    date the membership is known at (raises :class:`MembershipTooOld` when that is too long before
    ``as_of``)."""
    used: dict[str, str | None] = {"universe": spec.universe, "universe_file": spec.universe_file}
    if spec.kind == "sp500":
        used["membership_as_of"] = membership_freshness(as_of).membership_as_of
    return used
