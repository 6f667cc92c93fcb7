"""Lineage knows the code: a changed source byte gives a new code version, fingerprint and stage cache key."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from momentum.store import VersionedStore, code_version

ROOT = Path(__file__).resolve().parents[2]

# Run inside a copy of the packages: the code version, a fingerprint of fixed inputs and the stage cache
# key of the score task (a real store, so its identity is part of the key, as in a run).
PROBE = """
import json, sys
from types import SimpleNamespace
from momentum.store import code_version
from momentum.settings import Settings
from momentum.store._layout import fingerprint
from tasks.common import stage_cache_key
from tasks.score import score

context = SimpleNamespace(task=SimpleNamespace(name=score.name, fn=score.fn))
parameters = {"settings": Settings(store_url=sys.argv[1]), "bars_ref": "bars@2022-11-30/v1"}
key = stage_cache_key(context, parameters)
fp = fingerprint("scores", "2022-11-30", {"bars": "bars@2022-11-30/v1"}, {"lookback": 252})
print(json.dumps({"code": code_version(), "key": key, "fingerprint": fp}))
"""


def test_every_manifest_records_the_code_version(tmp_path):
    store = VersionedStore(str(tmp_path))
    ref = store.write("scores", "2022-11-30", pd.DataFrame({"symbol": ["AAPL"], "score": [1.0]}))
    assert VersionedStore(str(tmp_path)).manifest(ref).code_version == code_version()
    folder = tmp_path / "scores" / "as_of=2022-11-30" / f"v={ref.version}"
    stored = json.loads((folder / "_manifest.json").read_text())
    assert stored["code_version"] == code_version()
