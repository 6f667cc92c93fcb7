"""The store_url tests of tests.unit.test_store, on S3 (moto on loopback)."""

from tests.unit.test_store import (  # noqa: F401 - collected here with the S3 store_url
    test_content_addressed_versions_change_only_with_content,
    test_crash_inside_the_data_write_leaves_no_version,
    test_half_written_version_is_invisible,
    test_lineage_is_recorded,
    test_resolution_latest_named_and_as_of,
    test_round_trip_keeps_values_and_dtypes,
    test_same_inputs_reuse_the_committed_version,
    test_whole_universe_read_is_one_object,
)
