"""Lineage knows the code: a changed source byte gives a new code version, fingerprint and stage cache key."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from momentum import __version__
from momentum.store import HASHED_PACKAGES, VersionedStore, code_version

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


def copy_packages(target: Path) -> Path:
    for package in HASHED_PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def probe(copy: Path, store: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(copy), "PREFECT_HOME": str(copy / "prefect-home")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(store)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_one_changed_source_byte_changes_the_code_version_fingerprint_and_cache_key(tmp_path):
    copy, store = copy_packages(tmp_path / "copy"), tmp_path / "store"
    before = probe(copy, store)
    assert probe(copy, store) == before  # the same sources give the same lineage in a new process
    assert before["code"].startswith(f"{__version__}+")
    # a module the probed task does not show in its own source
    signals = copy / "momentum" / "strategy" / "_signals.py"
    source = signals.read_bytes()
    at = source.index(b"momentum")
    signals.write_bytes(source[:at] + b"M" + source[at + 1 :])
    after = probe(copy, store)
    assert after["code"] != before["code"] and after["code"].startswith(f"{__version__}+")
    assert after["fingerprint"] != before["fingerprint"]
    assert after["key"] != before["key"]


def test_a_new_source_file_changes_the_code_version(tmp_path):
    copy, store = copy_packages(tmp_path / "copy"), tmp_path / "store"
    before = probe(copy, store)["code"]
    (copy / "tasks" / "extra.py").write_text("X = 1\n")
    assert probe(copy, store)["code"] != before


@pytest.mark.usefixtures("prefect_api")
def test_a_rerun_at_the_same_as_of_after_a_code_change_computes_new_versions(tmp_path, monkeypatch):
    """The issue's measured problem: the stage cache must miss once the code changed, so the store is
    asked and, its fingerprints carrying the code version too, new versions are computed. Nothing is
    sent twice: the paper ledger keeps one row per order."""
    import momentum.store._layout as store_layout
    import tasks.common
    from flows.rebalance import rebalance
    from momentum.brokers.paper import LEDGER

    url = str(tmp_path / "store")
    stages = ("bars", "benchmark", "validation", "scores", "orders")
    first = rebalance(as_of="2022-11-30", store_url=url)
    again = rebalance(as_of="2022-11-30", store_url=url)
    assert all(again["datasets"][name] == first["datasets"][name] for name in stages)  # same code: reused
    changed = f"{code_version()}-changed"
    for module in (store_layout, tasks.common):
        monkeypatch.setattr(module, "code_version", lambda: changed)
    second = rebalance(as_of="2022-11-30", store_url=url)
    for name in stages:
        assert second["datasets"][name]["version"] != first["datasets"][name]["version"], name
    store = VersionedStore(url)
    assert store.manifest(store.resolve("scores").ref).code_version == changed
    book = store.read(store.resolve(LEDGER).ref)
    assert book["client_order_id"].is_unique and len(book) == len(first["orders"])
