"""The configured universe as a value: which rule picks the symbols the strategy may hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

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
