"""Versioned parquet datasets over fsspec: a local folder or ``s3://bucket/prefix``.

Layout, one immutable folder per version::

    {root}/{dataset}/as_of={YYYY-MM-DD}/v={version}/data.parquet
    {root}/{dataset}/as_of={YYYY-MM-DD}/v={version}/_manifest.json

The manifest is written last, in one atomic put, and is the commit marker: a version without a
manifest does not exist for readers, so a writer that dies midway leaves nothing visible.
A version may instead be made of several parquet objects (:meth:`VersionedStore.write_parts`, e.g. one
per year: ``{key}.parquet`` next to the manifest); its manifest lists them under ``parts`` and is still
written last. A part equal to one of a base version is not written again: the manifest points at the
base's object (objects are immutable, so versions can share them).
A version id is ``{created UTC}-{fingerprint}``; the fingerprint hashes what the version was computed
from (dataset, as_of, inputs, parameters, code version). Writing again from the same inputs returns
the committed version instead of making a second one. The code version is
:func:`momentum.lineage.code_version` (package version + a hash of the sources), so changed code makes
new versions.

Requests do not grow with the number of versions where a lookup can avoid it: finding, resolving and
taking the latest version list one ``as_of`` folder level at a time (delimited LISTs, not a recursive
walk), and a store object remembers the manifests and parquet objects it has read or written (versions
are immutable), so a task reads each dataset at most once.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Mapping, Sequence

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from momentum.errors import PermanentError
from momentum.lineage import code_version

MANIFEST = "_manifest.json"
DATA = "data.parquet"
CACHED_BYTES = 128 * 2**20  # parquet objects a store object keeps in memory (oldest dropped first)


class StoreError(PermanentError):
    """A dataset or version that is missing, or a store that cannot be used."""


def _s3_fix(exc: BaseException) -> tuple[str, str] | None:
    """(what is missing, how to fix it) for the S3 failures a user can fix, else None."""
    name = type(exc).__name__
    if name in {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return "no AWS credentials", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
    if name in {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"} or isinstance(
        exc, (ConnectionError, TimeoutError)
    ):
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "the AWS default endpoint")
        return f"cannot reach the S3 endpoint ({endpoint})", "check AWS_ENDPOINT_URL and the network"
    if isinstance(exc, FileNotFoundError) or "NoSuchBucket" in str(exc):
        return (
            "the bucket does not exist",
            "create it, or point --store / MOMENTUM_STORE_URL at an existing one",
        )
    if isinstance(exc, PermissionError) or "AccessDenied" in str(exc) or "InvalidAccessKeyId" in str(exc):
        return "access denied", "check the AWS credentials and the bucket policy"
    return None


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def check_store_url(url: str) -> str:
    """The URL itself when it has a store's shape (a local folder, ``file://...`` or ``s3://bucket[/prefix]``)."""
    text = (url or "").strip()
    if not text:
        raise StoreError("the store URL is empty", "store_url", "give a folder or s3://bucket/prefix")
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    if scheme == "s3":
        if not _BUCKET.match(rest.split("/", 1)[0]):
            raise StoreError(
                f"{rest.split('/', 1)[0]!r} is not an S3 bucket name",
                f"store {text}",
                "use s3://bucket/prefix with a lowercase bucket name of 3-63 characters",
            )
        return text
    if scheme != "file":
        raise StoreError(
            f"unsupported store scheme {scheme}://",
            f"store {text}",
            "use a local folder or s3://bucket/prefix",
        )
    return text


def store_unusable(url: str, exc: BaseException) -> StoreError:
    """A one-line StoreError naming the store URL and, for S3, the missing piece."""
    known = _s3_fix(exc) if url.startswith("s3://") else None
    if known:
        return StoreError(known[0], f"store {url}", known[1])
    first = (str(exc).strip().splitlines() or [""])[0]
    return StoreError(
        f"cannot use the store ({type(exc).__name__}: {first})",
        f"store {url}",
        "check the path or URL and its permissions",
    )


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


def _as_of_str(as_of: date | str) -> str:
    return pd.Timestamp(as_of).strftime("%Y-%m-%d")


class VersionedStore:
    """Immutable, versioned parquet datasets under one root URL."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.url = check_store_url(url).rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
            self._local = "file" in (
                self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
            )
            if self._local:
                self.fs.makedirs(self.root, exist_ok=True)
        except Exception as exc:  # noqa: BLE001 - one line naming the store
            raise store_unusable(self.url, exc) from exc
        self._manifests: dict[DatasetRef, Manifest] = {}
        self._objects: dict[str, bytes] = {}

    # --- writing -------------------------------------------------------------------------------
    def write(
        self,
        dataset: str,
        as_of: date | str,
        frame: pd.DataFrame,
        *,
        inputs: Mapping[str, DatasetRef | str] | None = None,
        params: Mapping[str, Any] | None = None,
        flow_run_id: str | None = None,
        content_addressed: bool = False,
        known_new: bool = False,
    ) -> DatasetRef:
        """Commit ``frame`` as a new version (or return the existing one with the same fingerprint).

        With ``content_addressed`` the fingerprint also covers the frame's content, for datasets that
        record observations (fills, account snapshots) rather than a computation of their inputs.
        ``known_new`` skips the look-up of a committed version with the same fingerprint (a LIST): for
        a caller that has just checked that none can exist (the paper ledger, for an order id it holds
        no row of).
        """
        as_of = _as_of_str(as_of)
        input_refs = {k: str(v) for k, v in (inputs or {}).items()}
        params = dict(params or {})
        checksum = content_checksum(frame)
        fp = fingerprint(
            dataset, as_of, input_refs, {**params, "content": checksum} if content_addressed else params
        )
        existing = None if known_new else self.find(dataset, as_of, fp)
        if existing is not None:
            return existing.ref
        created = datetime.now(timezone.utc)
        version = f"{created.strftime('%Y%m%dT%H%M%S%fZ')}-{fp}"
        folder = self._folder(dataset, as_of, version)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        payload = _parquet_bytes(table)
        self._put(f"{folder}/{DATA}", payload)
        self._keep(f"{folder}/{DATA}", payload)
        manifest = Manifest(
            dataset=dataset,
            as_of=as_of,
            version=version,
            fingerprint=fp,
            created_at=created.isoformat(),
            rows=len(frame),
            columns={f.name: str(f.type) for f in table.schema},
            checksum=checksum,
            inputs=input_refs,
            params=params,
            flow_run_id=flow_run_id,
            path=f"{self.url}/{dataset}/as_of={as_of}/v={version}/{DATA}",
        )
        self._put(f"{folder}/{MANIFEST}", _manifest_bytes(manifest))
        return self._remember(manifest).ref

    def write_parts(
        self,
        dataset: str,
        as_of: date | str,
        parts: Mapping[str, pd.DataFrame],
        *,
        base: Manifest | None = None,
        keep: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        flow_run_id: str | None = None,
    ) -> DatasetRef:
        """Commit a version made of one parquet object per part key (content-addressed, manifest last).

        Keys name the objects (``{key}.parquet``); a part whose content equals the same key's part of
        ``base`` reuses that object instead of writing it again, and the ``keep`` keys of ``base`` are
        carried over as they are (without reading them).
        """
        carried = {key: base.parts[key] for key in keep} if base else {}
        if not parts and not carried:
            raise ValueError(f"a version of {dataset!r} needs at least one part")
        as_of, params = _as_of_str(as_of), dict(params or {})
        sums = {key: part["checksum"] for key, part in carried.items()}
        sums |= {key: content_checksum(frame) for key, frame in parts.items()}
        sums = dict(sorted(sums.items()))
        checksum = hashlib.sha256(json.dumps(sums).encode()).hexdigest()
        fp = fingerprint(dataset, as_of, {}, {**params, "content": checksum})
        existing = self.find(dataset, as_of, fp)
        if existing is not None:
            return existing.ref
        created = datetime.now(timezone.utc)
        version = f"{created.strftime('%Y%m%dT%H%M%S%fZ')}-{fp}"
        listed = carried | self._put_parts(f"{dataset}/as_of={as_of}/v={version}", parts, sums, base)
        columns = (
            {
                f.name: str(f.type)
                for f in pa.Schema.from_pandas(next(iter(parts.values())), preserve_index=False)
            }
            if parts
            else dict(base.columns)
        )
        manifest = Manifest(
            dataset=dataset,
            as_of=as_of,
            version=version,
            fingerprint=fp,
            created_at=created.isoformat(),
            rows=sum(int(p["rows"]) for p in listed.values()),
            columns=columns,
            checksum=checksum,
            params=params,
            flow_run_id=flow_run_id,
            path=f"{self.url}/{dataset}/as_of={as_of}/v={version}/",
            parts=dict(sorted(listed.items())),
        )
        self._put(f"{self._folder(dataset, as_of, version)}/{MANIFEST}", _manifest_bytes(manifest))
        return self._remember(manifest).ref

    def _put_parts(
        self, folder: str, parts: Mapping[str, pd.DataFrame], sums: Mapping[str, str], base: Manifest | None
    ) -> dict[str, dict[str, Any]]:
        """Write each part under ``folder`` (relative to the root) unless ``base`` holds it; their entries."""
        listed = {}
        for key, frame in sorted(parts.items()):
            reused = (base.parts.get(key) if base else None) or {}
            if reused.get("checksum") == sums[key]:
                listed[key] = reused
                continue
            self._put(
                f"{self.root}/{folder}/{key}.parquet",
                _parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False)),
            )
            listed[key] = {"path": f"{folder}/{key}.parquet", "rows": len(frame), "checksum": sums[key]}
        return listed

    def _get(self, path: str) -> bytes:
        """One object's bytes in one GET (s3fs would first ask the size with a HEAD)."""
        return self.fs.cat_file(path) if self._local else self.fs.cat_file(path, max_concurrency=1)

    def _put(self, path: str, payload: bytes) -> None:
        """Write one object atomically: a single PUT on object stores, write-then-rename locally."""
        if not self._local:
            self.fs.pipe_file(path, payload)
            return
        self.fs.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp-{uuid.uuid4().hex}"
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @property
    def identity(self) -> str:
        """A random id created with the store: a wiped and recreated store gets a new one."""
        path = f"{self.root}/_store.json"
        try:
            try:
                return json.loads(self._get(path))["id"]
            except FileNotFoundError:
                self._put(path, json.dumps({"id": uuid.uuid4().hex}).encode())
                return json.loads(self._get(path))["id"]
        except Exception as exc:  # noqa: BLE001 - every way a store can be unusable ends in one line
            raise store_unusable(self.url, exc) from exc

    def marker_exists(self, name: str) -> bool:
        """True when an object ``{root}/{name}`` exists (for example the ``KILL_SWITCH`` marker): one GET."""
        try:
            self._get(f"{self.root}/{name}")
        except FileNotFoundError:
            return False
        return True

    def put_report(self, key: str, text: str) -> str:
        """Store a report (HTML, PNG as text-encoded, ...) under ``{root}/reports/{key}``; return its URL."""
        self._put(f"{self.root}/reports/{key}", text.encode())
        return f"{self.url}/reports/{key}"

    # --- reading -------------------------------------------------------------------------------
    def datasets(self) -> list[str]:
        """Names of the datasets that have at least one folder in the store."""
        if not self.fs.exists(self.root):
            return []
        return sorted(
            p.rstrip("/").rsplit("/", 1)[-1]
            for p in self.fs.ls(self.root, detail=False, refresh=True)
            if self.fs.isdir(p)
        )

    def refs(self, dataset: str) -> list[DatasetRef]:
        """Every committed version of ``dataset`` (one LIST, no GETs), by as_of then creation time."""
        self.fs.invalidate_cache()
        found = []
        for path in self.fs.glob(f"{self.root}/{dataset}/as_of=*/v=*/{MANIFEST}"):
            as_of_part, version_part = path.split("/")[-3:-1]
            found.append(
                DatasetRef(dataset, as_of_part.removeprefix("as_of="), version_part.removeprefix("v="))
            )
        return sorted(found, key=lambda r: (r.as_of, r.version))

    def latest(self, dataset: str) -> Manifest | None:
        """The newest committed version (by as_of, then creation) or None, in about three requests (two
        LISTs and a GET) however many versions the dataset holds; uncommitted folders are skipped."""
        return self._newest(dataset)

    def _newest(
        self,
        dataset: str,
        day_ok: Callable[[str], bool] = lambda day: True,
        version_ok: Callable[[str], bool] = lambda version: True,
    ) -> Manifest | None:
        """The newest committed version whose as_of and version pass the tests: one delimited LIST of
        the as_of folders, then one per as_of folder looked into (newest first), and a GET."""
        self.fs.invalidate_cache()
        for day in self._children(f"{self.root}/{dataset}", "as_of="):
            if not day_ok(day.removeprefix("as_of=")):
                continue
            for folder in self._children(f"{self.root}/{dataset}/{day}", "v="):
                if version_ok(folder.removeprefix("v=")):
                    try:
                        return self._load_manifest(f"{self.root}/{dataset}/{day}/{folder}")
                    except FileNotFoundError:
                        continue
        return None

    def _children(self, path: str, prefix: str) -> list[str]:
        """Names of the entries of folder ``path`` that start with ``prefix``, newest (largest) first."""
        try:
            names = (p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(path, detail=False))
            return sorted((name for name in names if name.startswith(prefix)), reverse=True)
        except FileNotFoundError:
            return []

    def _load_manifest(self, folder: str) -> Manifest:
        return self._remember(Manifest(**json.loads(self._get(f"{folder}/{MANIFEST}"))))

    def _remember(self, manifest: Manifest) -> Manifest:
        self._manifests[manifest.ref] = manifest
        return manifest

    def manifests(self, dataset: str) -> list[Manifest]:
        """Every committed version's manifest, in the order of :meth:`refs`."""
        return [self.manifest(ref) for ref in self.refs(dataset)]

    def find(self, dataset: str, as_of: str, fp: str) -> Manifest | None:
        """The committed version of ``dataset`` at ``as_of`` with fingerprint ``fp``, if any (the oldest
        if several): one delimited LIST of that as_of folder and a GET, none when this store object has
        already seen it."""
        for manifest in self._manifests.values():
            if (manifest.dataset, manifest.as_of, manifest.fingerprint) == (dataset, as_of, fp):
                return manifest
        self.fs.invalidate_cache()
        for folder in reversed(self._children(f"{self.root}/{dataset}/as_of={as_of}", "v=")):
            if folder.endswith(f"-{fp}"):
                try:
                    return self._load_manifest(f"{self.root}/{dataset}/as_of={as_of}/{folder}")
                except FileNotFoundError:
                    continue
        return None

    def lookup(
        self,
        dataset: str,
        as_of: date | str,
        *,
        inputs: Mapping[str, DatasetRef | str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> DatasetRef | None:
        """The committed version that :meth:`write` would return for these inputs, without computing."""
        day = _as_of_str(as_of)
        fp = fingerprint(dataset, day, {k: str(v) for k, v in (inputs or {}).items()}, dict(params or {}))
        found = self.find(dataset, day, fp)
        return found.ref if found else None

    def resolve(
        self,
        dataset: str,
        *,
        as_of: date | str | None = None,
        version: str | None = None,
        strict_as_of: bool = False,
    ) -> Manifest:
        """Pick a version: a named one; else the latest at ``as_of`` (or at/before it); else the latest.
        Lists only the as_of folders it looks into (see :meth:`_newest`), not every version."""
        day = None if as_of is None else _as_of_str(as_of)
        found = self._newest(
            dataset,
            day_ok=lambda d: day is None or (d == day if strict_as_of else d <= day),
            version_ok=lambda v: version is None or v == version,
        )
        if found is None:
            where = f" version {version}" if version else ""
            where += f" as of {as_of}" if as_of is not None else ""
            raise StoreError(f"dataset {dataset!r} has no committed version{where} in {self.url}")
        return found

    def manifest(self, ref: DatasetRef) -> Manifest:
        """The manifest of a committed version (one GET, none when this store object has seen it)."""
        if ref in self._manifests:
            return self._manifests[ref]
        try:
            return self._load_manifest(self._folder(ref.dataset, ref.as_of, ref.version))
        except FileNotFoundError as exc:
            raise StoreError(f"{ref} is not committed in {self.url}") from exc

    def read(
        self, ref: DatasetRef, columns: list[str] | None = None, parts: list[str] | None = None
    ) -> pd.DataFrame:
        """The frame of one committed version (one GET for the whole universe), or of the named ``parts``
        of a version made of parts (all of them by default, concatenated in key order)."""
        manifest = self.manifest(ref)
        if not manifest.parts:
            return self._read_object(f"{self._folder(ref.dataset, ref.as_of, ref.version)}/{DATA}", columns)
        keys = (
            sorted(manifest.parts)
            if parts is None
            else [k for k in sorted(manifest.parts) if k in set(parts)]
        )
        frames = [self._read_object(f"{self.root}/{manifest.parts[k]['path']}", columns) for k in keys]
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in (columns or manifest.columns)})
        return pd.concat(frames, ignore_index=True)

    def _read_object(self, path: str, columns: list[str] | None) -> pd.DataFrame:
        """One parquet object, fetched in one GET (or from memory when this store object holds it)."""
        payload = self._objects.get(path)
        if payload is None:
            payload = self._get(path)
            self._keep(path, payload)
        return pq.read_table(pa.BufferReader(payload), columns=columns).to_pandas()

    def _keep(self, path: str, payload: bytes) -> None:
        """Remember an immutable object's bytes, dropping the oldest beyond :data:`CACHED_BYTES`."""
        if len(payload) > CACHED_BYTES:
            return
        while self._objects and sum(map(len, self._objects.values())) + len(payload) > CACHED_BYTES:
            self._objects.pop(next(iter(self._objects)))
        self._objects[path] = payload

    def _folder(self, dataset: str, as_of: str, version: str) -> str:
        return f"{self.root}/{dataset}/as_of={as_of}/v={version}"


def _manifest_bytes(manifest: Manifest) -> bytes:
    """The manifest as JSON; ``parts`` only when the version has parts (single-object manifests unchanged)."""
    record = asdict(manifest)
    if not record["parts"]:
        del record["parts"]
    return json.dumps(record, indent=1, default=str).encode()


def _parquet_bytes(table: pa.Table) -> bytes:
    """zstd parquet; dictionary encoding only for non-float columns (smaller files, same speed)."""
    dictionary = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", compression_level=1, use_dictionary=dictionary or False)
    return sink.getvalue()
