"""Reading a store's committed versions: listing, finding, resolving and reading them.

A version without a manifest does not exist for readers. Requests do not grow with the number of
versions where a lookup can avoid it: finding, resolving and taking the latest version list one
``as_of`` folder level at a time (delimited LISTs, not a recursive walk), and a reader remembers the
manifests and parquet objects it has read or written (versions are immutable).

Every read is verified (see :mod:`momentum.store._verify`): an object's bytes enter memory only once
they match the manifest, and a damaged version is a :class:`CorruptVersion`, never a frame.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable, Mapping

import pandas as pd

from momentum.store._layout import (
    DATA,
    MANIFEST,
    DatasetRef,
    Manifest,
    as_of_str,
    fingerprint,
    parse_manifest,
    version_key,
)
from momentum.store._objects import ObjectStore, StoreError
from momentum.store._verify import CorruptVersion, bytes_problem, decoded, ref_of

CACHED_BYTES = 128 * 2**20  # parquet objects a store object keeps in memory (oldest dropped first)


class DatasetReader(ObjectStore):
    """The committed versions under one root URL, with the manifests and objects already seen."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        super().__init__(url, storage_options)
        self._manifests: dict[DatasetRef, Manifest] = {}
        self._objects: dict[str, bytes] = {}

    def datasets(self) -> list[str]:
        """Names of the datasets that have at least one folder in the store."""
        with self._guard("list", self.root):
            if not self.fs.exists(self.root):
                return []
            names = (p.rstrip("/") for p in self.fs.ls(self.root, detail=False, refresh=True))
            return sorted(
                p.rsplit("/", 1)[-1]
                for p in names
                if not p.rsplit("/", 1)[-1].startswith("_") and self.fs.isdir(p)
            )

    def refs(self, dataset: str) -> list[DatasetRef]:
        """Every committed version of ``dataset`` (one LIST, no GETs), by as_of then creation time."""
        self.fs.invalidate_cache()
        found = []
        with self._guard("list", f"{self.root}/{dataset}"):
            paths = self.fs.glob(f"{self.root}/{dataset}/as_of=*/v=*/{MANIFEST}")
        for path in paths:
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
            with self._guard("list", path):
                names = (p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(path, detail=False))
                return sorted((name for name in names if name.startswith(prefix)), reverse=True)
        except FileNotFoundError:
            return []

    def _load_manifest(self, folder: str) -> Manifest:
        """The manifest in ``folder`` (FileNotFoundError when there is none), checked: a CorruptVersion
        when it is not JSON, lacks fields or names another version than its folder's."""
        key = self._key(f"{folder}/{MANIFEST}")
        raw = self._get(f"{folder}/{MANIFEST}")
        try:
            manifest = parse_manifest(raw)
        except ValueError as exc:
            raise CorruptVersion(ref_of(self._key(folder)), key, str(exc), self.url) from exc
        if manifest.ref != ref_of(self._key(folder)):
            raise CorruptVersion(
                ref_of(self._key(folder)),
                key,
                f"the manifest names another version ({manifest.ref})",
                self.url,
            )
        return self._remember(manifest)

    def _remember(self, manifest: Manifest) -> Manifest:
        self._manifests[manifest.ref] = manifest
        return manifest

    def manifests(self, dataset: str) -> list[Manifest]:
        """Every committed version's manifest, in the order of :meth:`refs`."""
        return [self.manifest(ref) for ref in self.refs(dataset)]

    def listing(self, dataset: str) -> list[Manifest | CorruptVersion]:
        """:meth:`manifests`, with a damaged manifest listed as its :class:`CorruptVersion`."""
        found: list[Manifest | CorruptVersion] = []
        for ref in self.refs(dataset):
            try:
                found.append(self.manifest(ref))
            except CorruptVersion as exc:
                found.append(exc)
        return found

    def damaged(self, dataset: str | None = None) -> list[CorruptVersion]:
        """Every damaged committed version of ``dataset`` (default: of every dataset), each version read
        in full and checked against its manifest."""
        found = []
        for name in [dataset] if dataset else self.datasets():
            for ref in self.refs(name):
                try:
                    self.read(ref)
                except CorruptVersion as exc:
                    found.append(exc)
        return found

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
        day = as_of_str(as_of)
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
        day = None if as_of is None else as_of_str(as_of)
        found = self._newest(
            dataset,
            day_ok=lambda d: day is None or (d == day if strict_as_of else d <= day),
            version_ok=lambda v: version is None or v == version,
        )
        if found is None:
            which = f" named {version}" if version else ""
            which += f" as of {as_of}" if as_of is not None else ""
            raise StoreError(
                f"dataset {dataset!r} has no committed version{which}",
                f"store {self.url}",
                f"momentum store ls {dataset} lists its versions (the v=... after each as_of)",
            )
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
            entry = {"rows": manifest.rows, "checksum": manifest.checksum}
            entry |= {"size": manifest.size, "sha256": manifest.sha256}
            return self._read_object(
                ref, f"{version_key(ref.dataset, ref.as_of, ref.version)}/{DATA}", entry, columns
            )
        keys = (
            sorted(manifest.parts)
            if parts is None
            else [k for k in sorted(manifest.parts) if k in set(parts)]
        )
        frames = [self._read_object(ref, manifest.parts[k]["path"], manifest.parts[k], columns) for k in keys]
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in (columns or manifest.columns)})
        return pd.concat(frames, ignore_index=True)

    def _read_object(
        self, ref: DatasetRef, key: str, entry: Mapping[str, Any], columns: list[str] | None
    ) -> pd.DataFrame:
        """One parquet object of version ``ref``, fetched in one GET (or from memory when this store object
        holds it) and checked against its manifest ``entry`` before use (a CorruptVersion otherwise)."""
        path = f"{self.root}/{key}"
        payload = self._objects.get(path)
        trusted = payload is not None
        try:
            if payload is None:
                payload = self._get(path)
            problem = None if trusted else bytes_problem(payload, entry)
            if problem:
                raise ValueError(problem)
            frame = decoded(payload, None if trusted else entry, columns)
        except FileNotFoundError as exc:
            raise CorruptVersion(ref, key, "the object is missing", self.url) from exc
        except ValueError as exc:
            raise CorruptVersion(ref, key, str(exc), self.url) from exc
        if not trusted:
            self._keep(path, payload)
        return frame

    def _keep(self, path: str, payload: bytes) -> None:
        """Remember an immutable object's bytes, dropping the oldest beyond :data:`CACHED_BYTES`."""
        if len(payload) > CACHED_BYTES:
            return
        while self._objects and sum(map(len, self._objects.values())) + len(payload) > CACHED_BYTES:
            self._objects.pop(next(iter(self._objects)))
        self._objects[path] = payload

    def _folder(self, dataset: str, as_of: str, version: str) -> str:
        return f"{self.root}/{version_key(dataset, as_of, version)}"
