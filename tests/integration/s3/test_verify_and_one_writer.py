"""The store_url tests of tests.unit.test_store_verify and tests.unit.test_one_writer, on S3 (moto on
loopback): verify on read, conditional creates (``If-None-Match: *``), the ledger chain and the lease."""

from tests.unit.test_one_writer import (  # noqa: F401 - collected here with the S3 store_url
    test_a_conditional_create_has_exactly_one_winner,
    test_a_crashed_holders_lease_expires_and_a_living_holder_keeps_renewing_it,
    test_a_holder_whose_process_is_gone_frees_the_lease_before_it_expires,
    test_a_second_run_of_the_rebalance_stops_in_one_line_naming_the_holder,
    test_a_waiting_run_takes_the_lease_once_the_holder_lets_go,
    test_a_writer_that_died_between_its_claim_and_its_manifest_is_rolled_forward,
    test_racing_runs_have_exactly_one_holder,
    test_two_brokers_racing_for_the_next_ledger_version_book_each_order_once,
)
from tests.unit.test_store_verify import (  # noqa: F401 - collected here with the S3 store_url
    test_a_damaged_latest_version_stops_resolution_instead_of_being_skipped,
    test_a_damaged_part_is_caught_and_the_manifest_missing_fields_too,
    test_a_healthy_store_verifies_clean,
    test_a_read_checks_the_bytes_it_fetched_without_a_second_request,
    test_a_version_written_before_the_byte_checksums_is_checked_against_its_content_checksum,
    test_each_damage_is_caught_in_one_line_naming_the_version,
    test_store_verify_lists_every_damaged_version_and_ls_lists_the_rest,
)
