"""The fault suite's catalogue: every scenario of issue 12 and the tests that cover it (new
ones here in tests/faults, existing ones elsewhere, reused rather than repeated). The test
checks that each named test exists, so the list cannot rot."""

from __future__ import annotations

import importlib

import pytest

SCENARIOS: dict[str, list[str]] = {
    "throttled three times, then success, honouring retry-after": [
        "tests/faults/test_retries.py::test_throttled_three_times_then_success_honouring_retry_after",
        "tests/e2e/test_resilience.py::test_retry_after_header_is_honoured",
    ],
    "endless throttling ends before the deadline, exit 1, nothing reported done": [
        "tests/faults/test_retries.py::test_endless_throttling_ends_before_the_deadline_exit_1_nothing_done",
    ],
    "a 503 on ModifyDBInstanceConfig retried with the same ClientToken, applied once": [
        "tests/faults/test_retries.py::test_a_503_on_modify_config_is_retried_with_the_same_token_and_applied_once",
        "tests/apply/test_apply_resilience.py::test_a_throttling_and_503_storm_still_applies_once",
    ],
    "a timeout after the cloud committed, retried and converged": [
        "tests/faults/test_retries.py::test_a_modify_config_whose_answer_is_lost_after_the_commit_converges_once",
        "tests/apply/test_apply_resilience.py::test_a_lost_answer_of_modify_config_is_resent_with_the_same_token",
    ],
    "a timeout on CreateKey, CreatePolicy or CreateAlias after the commit, no duplicate": [
        "tests/faults/test_lost_creates.py::test_a_create_whose_answer_is_lost_converges_without_a_duplicate",
        "tests/faults/test_lost_creates.py::test_a_key_left_without_its_alias_is_adopted_by_the_next_plan",
        "tests/faults/test_lost_creates.py::test_a_lost_create_key_whose_read_back_fails_says_so_and_the_next_plan_adopts",
        "tests/faults/test_lost_creates.py::test_the_search_for_a_lost_key_costs_nothing_when_every_alias_exists",
        "tests/apply/test_apply_safety.py::test_a_lost_answer_of_a_create_is_read_back_not_repeated",
        "tests/apply/test_apply_safety.py::test_a_lost_answer_of_create_key_is_read_back_by_its_tags_not_repeated",
    ],
    "the same ClientToken with new parameters surfaced, not retried": [
        "tests/faults/test_retries.py::test_the_same_token_with_new_parameters_is_surfaced_not_retried",
    ],
    "a busy instance waited for": [
        "tests/faults/test_busy_and_terminal.py::test_an_instance_busy_for_five_reads_is_waited_for_then_changed_once",
        "tests/apply/test_apply_resilience.py::test_a_busy_instance_is_waited_for",
    ],
    "a terminal failed state not looped on": [
        "tests/faults/test_busy_and_terminal.py::test_a_terminal_state_while_waiting_is_not_looped_on",
        "tests/faults/test_busy_and_terminal.py::test_a_busy_instance_that_turns_terminal_is_not_written_to",
        "tests/apply/test_apply_resilience.py::test_a_wait_times_out_without_looping_forever",
    ],
    "kill -9 between the write and the journal entry, then a rerun without a duplicate": [
        "tests/faults/test_crash.py::test_kill_9_between_the_write_and_its_journal_entry_then_no_duplicate",
        "tests/e2e/test_apply_signals.py::test_kill_9_mid_apply_then_the_same_saved_plan_converges_without_a_repeated_write",
    ],
    "SIGTERM mid-apply": [
        "tests/apply/test_apply_signal.py::test_sigterm_stops_new_writes_and_leaves_the_journal_consistent",
        "tests/e2e/test_apply_signals.py::test_sigint_mid_apply_stops_new_writes_and_leaves_the_journal_consistent",
    ],
    "a stale plan (also when the first observation was empty)": [
        "tests/faults/test_world_moves.py::test_a_stale_plan_made_on_an_empty_world_is_refused",
        "tests/e2e/test_apply_cli.py::test_a_stale_saved_plan_is_refused_naming_what_moved",
        "tests/e2e/test_apply_cli.py::test_a_resource_absent_when_planned_and_made_by_hand_since_is_stale",
    ],
    "two concurrent applies": [
        "tests/e2e/test_apply_signals.py::test_a_second_apply_fails_at_once_naming_the_holder",
    ],
    "a role not yet visible to RDS for 60 s (injected clock)": [
        "tests/faults/test_world_moves.py::test_a_role_rds_cannot_see_for_60_seconds_is_waited_out",
        "tests/apply/test_apply_resilience.py::test_ram_propagation_is_waited_out_after_the_role_is_created",
    ],
    "a key in use disabled out of band: the locked instance reported, nothing else done to it": [
        "tests/faults/test_world_moves.py::test_a_key_in_use_disabled_out_of_band_refuses_its_instance_and_touches_nothing",
        "tests/e2e/test_refusals.py::test_instance_locked_by_a_disabled_key",
    ],
    "an instance removed from the spec: nothing happens to it": [
        "tests/faults/test_world_moves.py::test_an_instance_removed_from_the_spec_is_left_alone",
    ],
    "the spec disabling a key in use: refused": [
        "tests/e2e/test_refusals.py::test_key_in_use_by_an_unmanaged_instance",
        "tests/e2e/test_refusals.py::test_key_in_use_by_an_instance_of_another_engine",
        "tests/e2e/test_key_users.py::test_a_key_an_instance_is_switching_to_is_in_use",
    ],
    "a page of DescribeDBInstances changing between calls: none missed or doubled": [
        "tests/faults/test_world_moves.py::test_a_listing_that_moves_between_pages_misses_no_managed_instance",
        "tests/faults/test_world_moves.py::test_drift_counts_no_instance_twice_when_a_page_moves",
    ],
    "a malformed or truncated answer: a typed error, never 'no drift'": [
        "tests/faults/test_broken_answers.py::test_a_broken_answer_stops_the_command_with_a_typed_error",
        "tests/faults/test_broken_answers.py::test_an_answer_without_its_fields_is_never_read_as_nothing",
        "tests/e2e/test_fault_property.py::test_one_persistent_fault_gives_the_fault_free_plan_or_an_error",
    ],
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_scenario_names_tests_that_exist(scenario: str) -> None:
    for node in SCENARIOS[scenario]:
        path, _, name = node.partition("::")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name, None)), f"{scenario}: {node} does not exist"
