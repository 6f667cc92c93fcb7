"""The versioned parquet store: datasets, versions, manifests and lineage over a local folder or S3."""

from __future__ import annotations

from momentum.store._layout import DATA, MANIFEST, DatasetRef, Manifest
from momentum.store._lineage import HASHED_PACKAGES, code_version
from momentum.store._objects import StoreError
from momentum.store._writer import VersionedStore

__all__ = [
    "DATA",
    "DatasetRef",
    "HASHED_PACKAGES",
    "MANIFEST",
    "Manifest",
    "StoreError",
    "VersionedStore",
    "code_version",
]
