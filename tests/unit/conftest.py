"""The unit tier: no server, no subprocess, no network; a store is a local folder."""

from __future__ import annotations

import pytest


@pytest.fixture
def store_url(tmp_path):
    """A fresh local store (the same tests run on S3 in tests/integration/s3/)."""
    return str(tmp_path / "store")
