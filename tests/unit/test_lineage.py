"""Lineage knows the code: every manifest records the code version. (A changed source byte giving a new
code version, fingerprint and stage cache key, in a copy of the packages: tests/integration.)"""

from __future__ import annotations

import json

import pandas as pd

from momentum.store import VersionedStore, code_version


def test_every_manifest_records_the_code_version(tmp_path):
    store = VersionedStore(str(tmp_path))
    ref = store.write("scores", "2022-11-30", pd.DataFrame({"symbol": ["AAPL"], "score": [1.0]}))
    assert VersionedStore(str(tmp_path)).manifest(ref).code_version == code_version()
    folder = tmp_path / "scores" / "as_of=2022-11-30" / f"v={ref.version}"
    stored = json.loads((folder / "_manifest.json").read_text())
    assert stored["code_version"] == code_version()
