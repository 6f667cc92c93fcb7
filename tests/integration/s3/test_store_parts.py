"""The store_url tests of tests.unit.test_store_parts, on S3 (moto on loopback)."""

from tests.unit.test_store_parts import (  # noqa: F401 - collected here with the S3 store_url
    test_a_writer_that_dies_between_parts_leaves_no_version,
    test_an_unchanged_part_of_the_base_is_shared_not_written_again,
    test_kept_parts_are_carried_over_without_reading,
    test_latest_is_the_newest_committed_version_and_skips_a_half_written_one,
    test_parts_round_trip_and_read_by_part,
)
