"""The bars schema, and frames and records as JSON-able values (the one converter behind --json, the run
summary and artifacts), and the artifacts themselves as values.

Dates become ``YYYY-MM-DD`` strings, NaN and NaT become None, numpy scalars become Python numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

# The bars contract every provider returns and validation checks: date (exchange session), symbol,
# adj_close (split- and dividend-adjusted close), optional raw prices and volume.
REQUIRED = ("date", "symbol", "adj_close")
RAW_PRICES = ("open", "high", "low", "close")
NUMERIC = ("adj_close",) + RAW_PRICES + ("volume",)


def json_value(value: Any) -> Any:
    """One cell as JSON: a date as YYYY-MM-DD, NaN/NaT as None, a numpy scalar as a Python one."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def json_record(record: dict) -> dict[str, Any]:
    """A record with string keys and :func:`json_value` values."""
    return {str(key): json_value(value) for key, value in record.items()}


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Every row of ``frame`` as a :func:`json_record`."""
    return [json_record(record) for record in frame.to_dict(orient="records")]


@dataclass(frozen=True)
class Artifact:
    """One page of the Prefect UI (Artifacts -> ``key``), built by the domain, created by a task:
    a ``table`` of JSON ``rows``, a ``markdown`` ``text``, or a ``link`` to the URL ``text``."""

    key: str
    kind: Literal["table", "markdown", "link"]
    description: str
    text: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    link_text: str = ""


def table_or_note(key: str, frame: pd.DataFrame, description: str, empty: str) -> Artifact:
    """A table of ``frame``'s rows, or the italic note ``empty`` when it has none."""
    if len(frame):
        return Artifact(key, "table", description, rows=json_records(frame))
    return Artifact(key, "markdown", description, text=f"_{empty}_")
