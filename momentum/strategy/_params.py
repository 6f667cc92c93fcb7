"""The strategy's parameters and names: plain values, importable without numpy or pandas (the settings and
the command line's help read their defaults)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Final

# The benchmark a selection strategy must beat: every universe member with a close, equally weighted.
EQUAL_WEIGHT = "equal_weight"
# The strategy a run trades unless told otherwise (``Final``: its type is the literal, as settings need).
DEFAULT_STRATEGY: Final = "qmom"


@dataclass(frozen=True)
class StrategyParams:
    """Windows in sessions; ``holdings`` fixes H, else H = max(min_holdings, round(fraction * eligible))."""

    strategy: str = DEFAULT_STRATEGY
    lookback: int = 252
    skip: int = 21
    min_holdings: int = 5
    holdings_fraction: float = 0.05
    holdings: int | None = None
    max_stale_sessions: int = 20
    regime_filter: bool = False
    regime_window: int = 200

    def as_dict(self) -> dict:
        return asdict(self)

    def equal_weight(self) -> "StrategyParams":
        """The equal-weight benchmark of these parameters: same windows, no selection, never in cash."""
        return replace(self, strategy=EQUAL_WEIGHT, regime_filter=False)
