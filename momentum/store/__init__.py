"""The versioned parquet store: datasets, versions, manifests and lineage over a local folder or S3."""

from __future__ import annotations

from momentum.store._holder import process_started
from momentum.store._layout import DATA, MANIFEST, DatasetRef, Manifest
from momentum.store._lease import Lease, LeaseHeld, LeaseTerms
from momentum.store._lineage import HASHED_PACKAGES, code_version
from momentum.store._objects import StoreError
from momentum.store._verify import CorruptVersion
from momentum.store._writer import VersionConflict, VersionedStore

__all__ = [
    "process_started",
    "DATA",
    "CorruptVersion",
    "DatasetRef",
    "HASHED_PACKAGES",
    "Lease",
    "LeaseHeld",
    "LeaseTerms",
    "MANIFEST",
    "Manifest",
    "StoreError",
    "VersionConflict",
    "VersionedStore",
    "code_version",
]
