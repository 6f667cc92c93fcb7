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

This module is the writer; the version layout and manifest are :mod:`momentum.store`, the
reading side :mod:`momentum.store`, the URL, object I/O and store errors
:mod:`momentum.store`.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from typing import Any, Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from momentum.store._layout import (
    DATA,
    MANIFEST,
    DatasetRef,
    Manifest,
    as_of_str,
    content_checksum,
    fingerprint,
    manifest_bytes,
    new_version,
    version_key,
)
from momentum.store._reader import DatasetReader


class VersionedStore(DatasetReader):
    """Immutable, versioned parquet datasets under one root URL."""

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
        as_of = as_of_str(as_of)
        input_refs = {k: str(v) for k, v in (inputs or {}).items()}
        params = dict(params or {})
        checksum = content_checksum(frame)
        fp = fingerprint(
            dataset, as_of, input_refs, {**params, "content": checksum} if content_addressed else params
        )
        existing = None if known_new else self.find(dataset, as_of, fp)
        if existing is not None:
            return existing.ref
        return self._write_object(
            dataset, as_of, frame, fp, checksum, inputs=input_refs, params=params, flow_run_id=flow_run_id
        )

    def _write_object(
        self,
        dataset: str,
        as_of: str,
        frame: pd.DataFrame,
        fp: str,
        checksum: str,
        *,
        inputs: dict[str, str],
        params: dict[str, Any],
        flow_run_id: str | None,
    ) -> DatasetRef:
        """Put ``frame`` as the one data object of a new version with fingerprint ``fp``, then commit it."""
        created, version = new_version(fp)
        folder = self._folder(dataset, as_of, version)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        payload = _parquet_bytes(table)
        self._put(f"{folder}/{DATA}", payload)
        self._keep(f"{folder}/{DATA}", payload)
        return self._commit(
            Manifest(
                dataset=dataset,
                as_of=as_of,
                version=version,
                fingerprint=fp,
                created_at=created.isoformat(),
                rows=len(frame),
                columns={f.name: str(f.type) for f in table.schema},
                checksum=checksum,
                inputs=inputs,
                params=params,
                flow_run_id=flow_run_id,
                path=f"{self.url}/{version_key(dataset, as_of, version)}/{DATA}",
            )
        )

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
        as_of, params = as_of_str(as_of), dict(params or {})
        sums = _part_checksums(parts, carried)
        checksum = hashlib.sha256(json.dumps(sums).encode()).hexdigest()
        fp = fingerprint(dataset, as_of, {}, {**params, "content": checksum})
        existing = self.find(dataset, as_of, fp)
        if existing is not None:
            return existing.ref
        return self._write_parts_version(
            dataset, as_of, fp, checksum, parts, sums, carried, base, params=params, flow_run_id=flow_run_id
        )

    def _write_parts_version(
        self,
        dataset: str,
        as_of: str,
        fp: str,
        checksum: str,
        parts: Mapping[str, pd.DataFrame],
        sums: dict[str, str],
        carried: dict[str, dict[str, Any]],
        base: Manifest | None,
        *,
        params: dict[str, Any],
        flow_run_id: str | None,
    ) -> DatasetRef:
        """Put the parts of a new version with fingerprint ``fp`` (the carried ones as they are), then
        commit it."""
        created, version = new_version(fp)
        key = version_key(dataset, as_of, version)
        listed = carried | self._put_parts(key, parts, sums, base)
        return self._commit(
            Manifest(
                dataset=dataset,
                as_of=as_of,
                version=version,
                fingerprint=fp,
                created_at=created.isoformat(),
                rows=sum(int(p["rows"]) for p in listed.values()),
                columns=_parts_columns(parts, base),
                checksum=checksum,
                params=params,
                flow_run_id=flow_run_id,
                path=f"{self.url}/{key}/",
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
            self._put(
                f"{self.root}/{folder}/{key}.parquet",
                _parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False)),
            )
            listed[key] = {"path": f"{folder}/{key}.parquet", "rows": len(frame), "checksum": sums[key]}
        return listed

    def _commit(self, manifest: Manifest) -> DatasetRef:
        """Put the version's manifest last, in one atomic put: from then on the version exists."""
        folder = self._folder(manifest.dataset, manifest.as_of, manifest.version)
        self._put(f"{folder}/{MANIFEST}", manifest_bytes(manifest))
        return self._remember(manifest).ref


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
