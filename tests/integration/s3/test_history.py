"""The store_url tests of tests.unit.test_history, on S3 (moto on loopback)."""

from tests.unit.test_history import (  # noqa: F401 - collected here with the S3 store_url
    test_backfill_then_nothing_then_new_sessions,
)
