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
:func:`momentum.store.code_version` (package version + a hash of the sources), so changed code makes
new versions.

Requests do not grow with the number of versions where a lookup can avoid it: finding, resolving and
taking the latest version list one ``as_of`` folder level at a time (delimited LISTs, not a recursive
walk), and a store object remembers the manifests and parquet objects it has read or written (versions
are immutable), so a task reads each dataset at most once.

A chained dataset (the paper ledger: each version is the previous one plus a row) is committed with
:meth:`VersionedStore.write_after`: before its manifest, the writer creates the successor claim of the
version it read, ``{dataset}/_chain/after={version}.json`` (``first.json`` for the first), holding the
new manifest, with a conditional create. Of two writers that read the same version exactly one wins;
the other gets a :class:`VersionConflict`, removes its data object and re-reads :meth:`head`. A writer
that dies between its claim and its manifest is rolled forward by the next :meth:`head`.

This module is the writer; the version layout and manifest are :mod:`momentum.store._layout`, the
reading side :mod:`momentum.store._reader`, the URL, object I/O and store errors
:mod:`momentum.store._objects`.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from typing import Any, Mapping, Sequence, TypedDict, Unpack

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from momentum.store._layout import (
    DATA,
    MANIFEST,
    DatasetRef,
    Draft,
    Manifest,
    as_of_str,
    content_checksum,
    fingerprint,
    manifest_bytes,
    object_digest,
    parse_manifest,
)
from momentum.store._lease import Lease, LeaseTerms
from momentum.store._objects import StoreError
from momentum.store._reader import DatasetReader
from momentum.store._verify import CorruptVersion

CHAIN = "_chain"


class Lineage(TypedDict, total=False):
    """What a manifest records a version was computed from, and by which flow run."""

    inputs: Mapping[str, DatasetRef | str] | None
    params: Mapping[str, Any] | None
    flow_run_id: str | None


class WriteOptions(Lineage, total=False):
    """:meth:`VersionedStore.write`'s options (see there)."""

    content_addressed: bool
    known_new: bool


class VersionConflict(StoreError):
    """Another writer committed the version that follows the one this writer read (it re-reads the head)."""


class VersionedStore(DatasetReader):
    """Immutable, versioned parquet datasets under one root URL."""

    def write(
        self, dataset: str, as_of: date | str, frame: pd.DataFrame, **options: Unpack[WriteOptions]
    ) -> DatasetRef:
        """Commit ``frame`` as a new version (or return the existing one with the same fingerprint).

        ``inputs``, ``params`` and ``flow_run_id`` are recorded in the manifest (inputs and params go
        into the fingerprint). With ``content_addressed`` the fingerprint also covers the frame's
        content, for datasets that record observations (fills, account snapshots) rather than a
        computation of their inputs. ``known_new`` skips the look-up of a committed version with the
        same fingerprint (a LIST): for a caller that has just checked that none can exist.
        """
        draft = _draft(
            dataset, as_of, content_checksum(frame), options, options.get("content_addressed", False)
        )
        existing = (
            None
            if options.get("known_new", False)
            else self.find(draft.dataset, draft.as_of, draft.fingerprint)
        )
        if existing is not None:
            return existing.ref
        return self._commit(self._put_object(draft, frame))

    def write_after(
        self,
        dataset: str,
        as_of: date | str,
        frame: pd.DataFrame,
        after: str | None,
        **lineage: Unpack[Lineage],
    ) -> DatasetRef:
        """Commit ``frame`` as the version that follows version ``after`` of a chained dataset (None: its
        first version); a :class:`VersionConflict` when another writer committed that successor first."""
        draft = _draft(dataset, as_of, content_checksum(frame), {**lineage}, content_addressed=False)
        manifest = self._put_object(draft, frame)
        claim = self._successor(dataset, after)
        try:
            self._create(claim, manifest_bytes(manifest))
        except FileExistsError as exc:
            self._delete(f"{self.root}/{draft.key}/{DATA}")
            raise VersionConflict(
                f"another writer committed the version of {dataset} after {after or 'none'} first",
                f"key {self._key(claim)} in store {self.url}",
                "re-read the dataset's head and try again",
            ) from exc
        return self._commit(manifest)

    def head(self, dataset: str) -> Manifest | None:
        """The newest version of a chained dataset: :meth:`latest`, then any successor claimed after it
        whose writer stopped before its manifest (rolled forward: its manifest is put from the claim)."""
        current = self.latest(dataset)
        while True:
            claim = self._successor(dataset, current.version if current else None)
            try:
                raw = self._get(claim)
            except FileNotFoundError:
                return current
            try:
                current = parse_manifest(raw)
            except ValueError as exc:
                after = current.ref if current else DatasetRef(dataset, "-", "none")
                raise CorruptVersion(
                    after, self._key(claim), f"its successor's claim: {exc}", self.url
                ) from exc
            self._put(f"{self._folder(current.dataset, current.as_of, current.version)}/{MANIFEST}", raw)
            self._remember(current)

    def lease(self, terms: LeaseTerms) -> Lease:
        """A lease on ``terms.name`` in this store: ``with store.lease(terms):`` holds it (:class:`Lease`)."""
        return Lease(self, terms)

    def _successor(self, dataset: str, after: str | None) -> str:
        return f"{self.root}/{dataset}/{CHAIN}/{f'after={after}' if after else 'first'}.json"

    def _put_object(self, draft: Draft, frame: pd.DataFrame) -> Manifest:
        """Put ``frame`` as the one data object of the drafted version; its manifest (not committed yet)."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        payload = _parquet_bytes(table)
        self._put(f"{self.root}/{draft.key}/{DATA}", payload)
        self._keep(f"{self.root}/{draft.key}/{DATA}", payload)
        return draft.manifest(
            rows=len(frame),
            columns={f.name: str(f.type) for f in table.schema},
            path=f"{self.url}/{draft.key}/{DATA}",
            **object_digest(payload),
        )

    def write_parts(
        self,
        dataset: str,
        as_of: date | str,
        parts: Mapping[str, pd.DataFrame],
        *,
        base: Manifest | None = None,
        keep: Sequence[str] = (),
        **lineage: Unpack[Lineage],
    ) -> DatasetRef:
        """Commit a version made of one parquet object per part key (content-addressed, manifest last).

        Keys name the objects (``{key}.parquet``); a part whose content equals the same key's part of
        ``base`` reuses that object instead of writing it again, and the ``keep`` keys of ``base`` are
        carried over as they are (without reading them).
        """
        carried = {key: base.parts[key] for key in keep} if base else {}
        if not parts and not carried:
            raise ValueError(f"a version of {dataset!r} needs at least one part")
        sums = _part_checksums(parts, carried)
        checksum = hashlib.sha256(json.dumps(sums).encode()).hexdigest()
        draft = _draft(dataset, as_of, checksum, {**lineage}, content_addressed=True)
        existing = self.find(draft.dataset, draft.as_of, draft.fingerprint)
        if existing is not None:
            return existing.ref
        listed = carried | self._put_parts(draft.key, parts, sums, base)
        return self._commit(
            draft.manifest(
                rows=sum(int(p["rows"]) for p in listed.values()),
                columns=_parts_columns(parts, base),
                path=f"{self.url}/{draft.key}/",
                parts=dict(sorted(listed.items())),
            )
        )

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
            payload = _parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False))
            self._put(f"{self.root}/{folder}/{key}.parquet", payload)
            listed[key] = {
                "path": f"{folder}/{key}.parquet",
                "rows": len(frame),
                "checksum": sums[key],
                **object_digest(payload),
            }
        return listed

    def _commit(self, manifest: Manifest) -> DatasetRef:
        """Put the version's manifest last, in one atomic put: from then on the version exists."""
        folder = self._folder(manifest.dataset, manifest.as_of, manifest.version)
        self._put(f"{folder}/{MANIFEST}", manifest_bytes(manifest))
        return self._remember(manifest).ref


def _draft(
    dataset: str, as_of: date | str, checksum: str, lineage: Mapping[str, Any], content_addressed: bool
) -> Draft:
    """The draft of a version of ``dataset`` at ``as_of`` with this content ``checksum`` and lineage."""
    day = as_of_str(as_of)
    inputs = {k: str(v) for k, v in (lineage.get("inputs") or {}).items()}
    params = dict(lineage.get("params") or {})
    fp = fingerprint(dataset, day, inputs, {**params, "content": checksum} if content_addressed else params)
    return Draft(dataset, day, fp, checksum, inputs, params, lineage.get("flow_run_id"))


def _part_checksums(
    parts: Mapping[str, pd.DataFrame], carried: Mapping[str, dict[str, Any]]
) -> dict[str, str]:
    """Each part's content checksum by key, in key order (a carried part keeps its recorded one)."""
    sums = {key: part["checksum"] for key, part in carried.items()}
    sums |= {key: content_checksum(frame) for key, frame in parts.items()}
    return dict(sorted(sums.items()))


def _parts_columns(parts: Mapping[str, pd.DataFrame], base: Manifest | None) -> dict[str, str]:
    """Column name -> arrow type of a parts version: the first new part's schema, else ``base``'s."""
    if parts:
        first = next(iter(parts.values()))
        return {f.name: str(f.type) for f in pa.Schema.from_pandas(first, preserve_index=False)}
    assert base is not None, "a version without new parts carries parts of a base (write_parts)"
    return dict(base.columns)


def _parquet_bytes(table: pa.Table) -> bytes:
    """zstd parquet; dictionary encoding only for non-float columns (smaller files, same speed)."""
    dictionary = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", compression_level=1, use_dictionary=dictionary or False)
    return sink.getvalue()
