"""The unit tier's store tests again, on a real S3-compatible server (moto) on loopback."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def store_url(s3_server):
    """A fresh prefix in a bucket of the moto server."""
    return f"s3://momentum-test/{uuid.uuid4().hex}"
