"""What a store version is: its refs, its manifest, its id and fingerprint, and where its objects go.

Layout, one immutable folder per version::

    {root}/{dataset}/as_of={YYYY-MM-DD}/v={version}/data.parquet
    {root}/{dataset}/as_of={YYYY-MM-DD}/v={version}/_manifest.json

A version id is ``{created UTC}-{fingerprint}``; the fingerprint hashes what the version was computed
from (dataset, as_of, inputs, parameters, code version).

Two checksums per object: ``checksum`` hashes a frame's values and dtypes (independent of the parquet
encoding: it goes into content-addressed fingerprints), ``size`` and ``sha256`` are those of the stored
object's bytes (what a reader checks before using them). Manifests written before ``sha256`` existed are
checked against ``checksum`` instead.
"""

from __future__ import annotations

import dataclasses
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
    size: int | None = None  # bytes of the data object (a single-object version)
    sha256: str | None = None  # sha256 of those bytes

    @property
    def ref(self) -> DatasetRef:
        return DatasetRef(self.dataset, self.as_of, self.version)


REQUIRED = tuple(
    f.name
    for f in dataclasses.fields(Manifest)
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
)
KNOWN = frozenset(f.name for f in dataclasses.fields(Manifest))


def parse_manifest(raw: bytes) -> Manifest:
    """The manifest stored as ``raw``; a ValueError saying what is wrong with it when it is not one."""
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the manifest is not JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise ValueError("the manifest is not a JSON object")
    missing = [name for name in REQUIRED if name not in record]
    unknown = sorted(set(record) - KNOWN)
    if missing or unknown:
        problems = [f"missing {', '.join(missing)}"] * bool(missing) + [
            f"unknown {', '.join(unknown)}"
        ] * bool(unknown)
        raise ValueError(f"the manifest has {'; '.join(problems)} fields")
    if not isinstance(record["rows"], int) or not isinstance(record["checksum"], str):
        raise ValueError("the manifest's rows or checksum is not of its type")
    return Manifest(**record)


def object_digest(payload: bytes) -> dict[str, Any]:
    """``size`` and ``sha256`` of an object's bytes, as a manifest records them."""
    return {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}


@dataclass(frozen=True)
class Draft:
    """A version about to be written: its dataset, as_of, fingerprint, content checksum and lineage."""

    dataset: str
    as_of: str
    fingerprint: str
    checksum: str
    inputs: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    flow_run_id: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def version(self) -> str:
        """``{created UTC}-{fingerprint}``: sorts by creation time."""
        return f"{self.created.strftime('%Y%m%dT%H%M%S%fZ')}-{self.fingerprint}"

    @property
    def key(self) -> str:
        """The version's folder, relative to the store's root."""
        return version_key(self.dataset, self.as_of, self.version)

    def manifest(self, **contents: Any) -> Manifest:
        """The manifest of this version holding ``contents`` (rows, columns, path, parts, size, ...)."""
        return Manifest(
            dataset=self.dataset,
            as_of=self.as_of,
            version=self.version,
            fingerprint=self.fingerprint,
            created_at=self.created.isoformat(),
            checksum=self.checksum,
            inputs=self.inputs,
            params=self.params,
            flow_run_id=self.flow_run_id,
            **contents,
        )


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


def version_key(dataset: str, as_of: str, version: str) -> str:
    """A version's folder, relative to the store's root."""
    return f"{dataset}/as_of={as_of}/v={version}"


def manifest_bytes(manifest: Manifest) -> bytes:
    """The manifest as JSON; ``parts`` only when the version has parts, ``size`` and ``sha256`` only when
    it has one data object (a parts version records them per part)."""
    record = asdict(manifest)
    for name in ("parts", "size", "sha256"):
        if record[name] in ({}, None):
            del record[name]
    return json.dumps(record, indent=1, default=str).encode()
