"""Stage 3, one-day moves: log returns of adj_close (and close, when the raw prices are there)
classified as bad ticks, unadjusted splits, sudden moves or adjusted corporate actions."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Split factors a missed adjustment would leave in a series: k-for-1 splits divide the price by k,
# 1-for-k reverse splits multiply it by k.
_SPLIT_FACTORS = {
    2.0: "2-for-1",
    3.0: "3-for-1",
    4.0: "4-for-1",
    5.0: "5-for-1",
    10.0: "10-for-1",
    1.5: "3-for-2",
}
_SPLIT_TOLERANCE = math.log(1.01)  # "within ~1 %" of the ratio, in log terms
_REVERT_FRACTION = 0.25  # a move reverts when what is left after the next bar is <= 25 % of it


def _pct(log_move: float) -> str:
    return f"{math.expm1(log_move) * 100:+.1f}%"


def _split_name(log_move: float) -> str:
    factor = math.exp(-log_move) if log_move < 0 else math.exp(log_move)
    best = min(_SPLIT_FACTORS, key=lambda k: abs(math.log(k) - math.log(factor)))
    name = _SPLIT_FACTORS[best]
    if log_move > 0:  # the price went up: a reverse split, 1-for-k
        left, right = name.split("-for-")
        name = f"{right}-for-{left}"
    return name


def _split_like(x: np.ndarray) -> np.ndarray:
    logs = np.log(np.array(list(_SPLIT_FACTORS)))
    logs = np.concatenate([logs, -logs])
    with np.errstate(invalid="ignore"):
        dist = np.abs(x[:, None] - logs[None, :]).min(axis=1) if len(x) else np.zeros(0)
    return np.nan_to_num(dist, nan=np.inf) <= _SPLIT_TOLERANCE


def _log_moves(values: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Log return of each row from the previous row of the same symbol; NaN without two positive prices."""
    prev = np.r_[np.nan, values[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = (values > 0) & np.isfinite(values)
        return np.where(same & usable & np.r_[False, usable[:-1]], np.log(values / prev), np.nan)


@dataclass(frozen=True)
class Moves:
    """Per sorted row: the adj_close move ``r`` (log), the next one, the close move ``rc`` and the class."""

    r: np.ndarray
    r_next: np.ndarray
    rc: np.ndarray
    raw_known: np.ndarray  # the close move is known
    together: np.ndarray  # adj_close and close moved alike (within the split tolerance)
    reverts: np.ndarray  # a bad tick: the next session undoes the move
    split_err: np.ndarray  # a split the adjustment missed, or an adjustment factor that jumped
    sudden: np.ndarray  # a large move that neither reverts nor looks like a split
    corporate: np.ndarray  # close moved, adj_close did not: an adjusted corporate action


def _raw_moves(
    rows: pd.DataFrame, same: np.ndarray, r: np.ndarray, threshold: float, excluded: np.ndarray
) -> tuple[np.ndarray, ...]:
    """(rc, raw_known, together, factor_jump, corporate) from the close, or all unknown without it."""
    if "close" not in rows:
        unknown = np.zeros(len(r), dtype=bool)
        return np.full(len(r), np.nan), unknown, unknown, unknown, unknown
    rc = _log_moves(rows["close"].to_numpy(), same)
    with np.errstate(invalid="ignore"):
        raw_known = ~np.isnan(rc)
        together = np.abs(r - rc) <= _SPLIT_TOLERANCE
        factor_jump = np.abs(r - rc) > threshold
        corporate = raw_known & ((np.abs(rc) > threshold) | _split_like(rc)) & ~excluded
    return rc, raw_known, together, factor_jump, corporate


def classify_moves(rows: pd.DataFrame, same: np.ndarray, max_daily_move: float) -> Moves:
    """Every one-day move of the sorted ``rows`` larger than ``max_daily_move`` (a fraction) or
    split-like, classified; ``same``: the previous row is the same symbol."""
    threshold = math.log1p(max_daily_move)
    r = _log_moves(rows["adj_close"].to_numpy(), same)
    r_next = np.r_[r[1:], np.nan]
    split_like = _split_like(r)
    with np.errstate(invalid="ignore"):
        candidate = (np.abs(r) > threshold) | split_like
        reverts = (
            candidate
            & (np.sign(r_next) == -np.sign(r))
            & (np.abs(r + r_next) <= _REVERT_FRACTION * np.abs(r))
        )
    undoing = np.r_[False, reverts[:-1]]  # the leg that undoes a bad tick is part of it
    candidate &= ~undoing
    moving = candidate & ~reverts
    rc, raw_known, together, factor_jump, corporate = _raw_moves(
        rows, same, r, threshold, candidate | undoing
    )
    split_err = moving & (
        (raw_known & together & split_like)
        | (raw_known & ~together & factor_jump)
        | (~raw_known & split_like)
    )
    return Moves(r, r_next, rc, raw_known, together, reverts, split_err, moving & ~split_err, corporate)


def _describe(kind: str, j: int, m: Moves) -> str:
    r, rc = m.r[j], m.rc[j]
    if kind == "bad_tick":
        return f"adj_close {_pct(r)} then {_pct(m.r_next[j])} the next session (reverted: bad tick)"
    if kind == "split" and m.raw_known[j] and m.together[j]:
        return f"adj_close and close both {_pct(r)} ({_split_name(r)} ratio): split not adjusted"
    if kind == "split" and m.raw_known[j]:
        return f"adj_close {_pct(r)} while close {_pct(rc)}: adjustment factor jumped"
    if kind == "split":
        return (
            f"adj_close {_pct(r)} ({_split_name(r)} ratio within 1%), "
            "not reverted: suspected unadjusted split"
        )
    if kind == "sudden":
        extra = f", close {_pct(rc)}" if m.raw_known[j] else ""
        return f"adj_close {_pct(r)} in one session{extra}, not reverted"
    return f"close {_pct(rc)} while adj_close {_pct(r)}: corporate action adjusted"


def move_texts(kind: str, where: np.ndarray, m: Moves) -> Callable[[np.ndarray], list[str]]:
    """The detail texts of the events ``where[idx]`` of one kind."""
    return lambda idx: [_describe(kind, where[i], m) for i in idx]


def move_events(m: Moves, in_window: np.ndarray) -> dict[str, np.ndarray]:
    """Row positions of each kind of move; ``_hist`` kinds lie before the recent window."""
    return {
        "bad_tick": np.flatnonzero(m.reverts & in_window),
        "bad_tick_hist": np.flatnonzero(m.reverts & ~in_window),
        "split": np.flatnonzero(m.split_err & in_window),
        "split_hist": np.flatnonzero(m.split_err & ~in_window),
        "sudden": np.flatnonzero(m.sudden),
        "corporate": np.flatnonzero(m.corporate),
    }
