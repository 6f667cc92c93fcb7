"""The kill switch: the one answer to "may another order go?".

Engaged by the ``kill_switch`` setting or by an object ``KILL_SWITCH`` at the store root (put it there to
stop a running rebalance, delete it to resume). The marker is looked up on the first question and then at
most once every ``every_seconds`` (one GET a second, not one per order); once seen engaged the switch
stays engaged for the rest of the run (latched), so a marker removed mid-run does not restart sending.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from momentum.execution._guards import GuardError

MARKER = "KILL_SWITCH"  # the store object that engages the kill switch
CHECK_SECONDS = 1.0  # how often a run looks at the marker


class Markers(Protocol):
    """Where the marker lives (the store): ``marker_exists(name)`` is one look-up."""

    def marker_exists(self, name: str) -> bool: ...


class KillSwitch:
    """``setting``: the kill switch setting; ``markers``: the store holding the :data:`MARKER` object
    (None: the setting alone decides); ``clock`` in seconds."""

    def __init__(
        self,
        setting: bool = False,
        markers: Markers | None = None,
        *,
        every_seconds: float = CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._markers, self._every, self._clock = markers, every_seconds, clock
        self._engaged, self._by_setting = setting, setting
        self._looked_at: float | None = None

    def engaged(self) -> bool:
        """True once the setting or the marker says stop (and from then on)."""
        if self._engaged or self._markers is None:
            return self._engaged
        now = self._clock()
        if self._looked_at is None or now - self._looked_at >= self._every:
            self._looked_at = now
            self._engaged = self._markers.marker_exists(MARKER)
        return self._engaged

    def check(self) -> None:
        """Raise :class:`GuardError` when engaged, naming which switch and how to release it."""
        if self.engaged():
            raise GuardError("kill switch engaged: no order sent", *self._which())

    def _which(self) -> tuple[str, str]:
        """(where, fix) of the engaged switch: the setting, or the marker in the store."""
        if self._by_setting:
            return (
                "the kill_switch setting (MOMENTUM_KILL_SWITCH or --set kill_switch=true)",
                "set kill_switch to false to trade again",
            )
        marker = f"{getattr(self._markers, 'url', 'the store').rstrip('/')}/{MARKER}"
        return f"the {MARKER} object at {marker}", f"delete {marker} to trade again"
