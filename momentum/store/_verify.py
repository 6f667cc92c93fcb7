"""Verify on read: a version's objects are checked against its manifest before anything uses them.

A single-object version's manifest records the ``size`` and ``sha256`` of its data object's bytes, a
parts version records them per part: the bytes a read has fetched are measured and hashed (no second
request). Manifests written before those fields existed are checked against ``checksum``, the hash of
the frame's values and dtypes, after decoding. A mismatch, an object that is missing or not parquet,
or a manifest that is not one is a :class:`CorruptVersion` naming dataset, as_of, version and key.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from momentum.store._layout import DatasetRef, content_checksum
from momentum.store._objects import StoreError

VERIFY_FIX = (
    "`momentum store verify` lists every damaged version; delete that version's folder and re-run "
    "to write a fresh one"
)


class CorruptVersion(StoreError):
    """A committed version whose manifest or objects do not match what the manifest records."""

    def __init__(self, ref: DatasetRef, key: str, problem: str, url: str) -> None:
        self.ref, self.key, self.problem = ref, key, problem
        super().__init__(
            f"{ref.dataset} as of {ref.as_of}, version {ref.version}, is damaged: {problem}",
            f"key {key} in store {url}",
            VERIFY_FIX,
        )


def ref_of(folder_key: str) -> DatasetRef:
    """The version a folder key ``{dataset}/as_of={day}/v={version}`` names."""
    dataset, day, version = folder_key.rstrip("/").rsplit("/", 2)[-3:]
    return DatasetRef(dataset, day.removeprefix("as_of="), version.removeprefix("v="))


def bytes_problem(payload: bytes, entry: Mapping[str, Any]) -> str | None:
    """What is wrong with an object's bytes against its manifest entry (``size``, ``sha256``), if anything."""
    size, sha = entry.get("size"), entry.get("sha256")
    if size is not None and len(payload) != size:
        return (
            f"the object has {len(payload)} bytes where the manifest records {size} (truncated or rewritten)"
        )
    if sha is not None and hashlib.sha256(payload).hexdigest() != sha:
        return "the object's sha256 differs from the manifest's (its bytes were changed)"
    return None


def decoded(payload: bytes, entry: Mapping[str, Any] | None, columns: list[str] | None) -> pd.DataFrame:
    """The object's frame (``columns`` of it), checked against its manifest ``entry`` (None: bytes already
    verified) for its row count and, when the entry records no ``sha256``, for its content ``checksum``.
    A ValueError saying what is wrong otherwise."""
    entry = entry or {"sha256": "verified before"}
    legacy = entry.get("sha256") is None
    try:
        table = pq.read_table(pa.BufferReader(payload), columns=None if legacy else columns)
    except (pa.ArrowException, OSError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ValueError(f"the object is not readable parquet ({type(exc).__name__}: {first})") from exc
    if entry.get("rows") is not None and table.num_rows != int(entry["rows"]):
        raise ValueError(f"the object holds {table.num_rows} rows where the manifest records {entry['rows']}")
    frame = table.to_pandas()
    if legacy:
        if content_checksum(frame) != entry.get("checksum"):
            raise ValueError(
                "the object's content checksum differs from the manifest's (its values were changed)"
            )
        if columns is not None:
            frame = frame[columns]
    return frame
