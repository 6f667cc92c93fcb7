"""What a store version is: its refs, its manifest, its id and fingerprint, and where its objects go.

Layout, one immutable folder per version::

    {root}/{dataset}/as_of={YYYY-MM-DD}/v={version}/data.parquet
    {root}/{dataset}/as_of={YYYY-MM-DD}/v={version}/_manifest.json

A version id is ``{created UTC}-{fingerprint}``; the fingerprint hashes what the version was computed
from (dataset, as_of, inputs, parameters, code version).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Mapping

import pandas as pd

from momentum.store._lineage import code_version

MANIFEST = "_manifest.json"
DATA = "data.parquet"


@dataclass(frozen=True)
class DatasetRef:
    """A pointer to one committed version: small, hashable, JSON-able (what tasks pass around)."""

    dataset: str
    as_of: str
    version: str

    def __str__(self) -> str:
        return f"{self.dataset}@{self.as_of}/{self.version}"


@dataclass(frozen=True)
class Manifest:
    """A version's lineage: what it holds and what it was computed from."""

    dataset: str
    as_of: str
    version: str
    fingerprint: str
    created_at: str
    rows: int
    columns: dict[str, str]
    checksum: str
    inputs: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    code_version: str = field(default_factory=lambda: code_version())  # looked up when a manifest is made
    flow_run_id: str | None = None
    path: str = ""
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ref(self) -> DatasetRef:
        return DatasetRef(self.dataset, self.as_of, self.version)


def fingerprint(dataset: str, as_of: str, inputs: Mapping[str, str], params: Mapping[str, Any]) -> str:
    """A stable 16-hex-digit hash of what a version is computed from, the code version included."""
    blob = json.dumps(
        {
            "dataset": dataset,
            "as_of": as_of,
            "inputs": dict(inputs),
            "params": dict(params),
            "code": code_version(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def content_checksum(frame: pd.DataFrame) -> str:
    """sha256 of a frame's values, column names and dtypes (independent of parquet encoding)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    if len(frame):
        digest.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
    return digest.hexdigest()


def as_of_str(as_of: date | str) -> str:
    """The as_of day as ``YYYY-MM-DD`` (the folder name's date)."""
    return pd.Timestamp(as_of).strftime("%Y-%m-%d")


def new_version(fp: str) -> tuple[datetime, str]:
    """(creation time in UTC, version id ``{created UTC}-{fp}``) of a version about to be written."""
    created = datetime.now(timezone.utc)
    return created, f"{created.strftime('%Y%m%dT%H%M%S%fZ')}-{fp}"


def version_key(dataset: str, as_of: str, version: str) -> str:
    """A version's folder, relative to the store's root."""
    return f"{dataset}/as_of={as_of}/v={version}"


def manifest_bytes(manifest: Manifest) -> bytes:
    """The manifest as JSON; ``parts`` only when the version has parts (single-object manifests unchanged)."""
    record = asdict(manifest)
    if not record["parts"]:
        del record["parts"]
    return json.dumps(record, indent=1, default=str).encode()
