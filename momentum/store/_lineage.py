"""The code version recorded in every manifest, fingerprint and stage cache key.

``code_version()`` is ``{package version}+{12 hex digits}``: the digits are a sha256 over every ``.py``
file of the three packages whose code decides what a run computes: ``momentum/`` (the domain),
``tasks/`` (what each stage reads, writes and with which parameters) and ``flows/`` (how stages are
wired), found next to each other (an editable checkout or an installed wheel alike). Each file adds its
path relative to that folder, a NUL, its bytes and a NUL, in sorted path order, so a changed, added,
removed or renamed source file changes the hash, and so does a single changed byte. Not hashed: the
CLI (``momentum_cli/`` only renders and dispatches), tests, data files and ``__pycache__``; a missing
package folder is skipped. The version string alone cannot tell a fixed bug from the old code (it stays
``0.1.0``), the hash can. Computed once per process (the sources do not change under a running run).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from momentum import __version__

HASHED_PACKAGES = ("momentum", "tasks", "flows")
HASH_DIGITS = 12


def source_files(root: Path) -> list[Path]:
    """The hashed ``.py`` files under ``root`` (the folder holding the packages), in sorted order."""
    found = [
        path
        for package in HASHED_PACKAGES
        if (root / package).is_dir()
        for path in (root / package).rglob("*.py")
        if "__pycache__" not in path.parts
    ]
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def sources_hash(root: Path) -> str:
    """sha256 (hex) over the relative paths and bytes of :func:`source_files` of ``root``."""
    digest = hashlib.sha256()
    for path in source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def code_version() -> str:
    """``{__version__}+{first 12 hex digits of the sources hash}``, e.g. ``0.1.0+3f2a9c0d1e4b``."""
    root = Path(__file__).resolve().parents[2]  # the folder holding momentum/, tasks/ and flows/
    return f"{__version__}+{sources_hash(root)[:HASH_DIGITS]}"
