"""When the CLI starts the workers' fork server before loading the spec (cli/run.py,
warm_workers; docs/architecture.md, "Processes"): only when workers are likely, so that a
small plan in auto mode spends no CPU on a fork server it never uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli.run import LARGE_SPEC_BYTES, spec_bytes_of, workers_likely


def never_asked() -> int:
    raise AssertionError("the spec's size does not matter here")


@pytest.mark.parametrize("processes", [None, 1])
def test_one_process_never_starts_a_fork_server(processes: int | None) -> None:
    assert not workers_likely(processes, never_asked)


@pytest.mark.parametrize("processes", [2, 8])
def test_processes_asked_for_start_it_whatever_the_spec(processes: int) -> None:
    assert workers_likely(processes, never_asked)


def test_auto_mode_starts_it_for_large_spec_files_only() -> None:
    assert not workers_likely(0, lambda: LARGE_SPEC_BYTES - 1)
    assert workers_likely(0, lambda: LARGE_SPEC_BYTES)


def test_the_size_is_that_of_the_files_the_load_reads(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x" * 1000)
    (tmp_path / "b.yml").write_text("y" * 500)
    (tmp_path / "notes.txt").write_text("z" * 10_000)  # not a spec file
    assert spec_bytes_of([str(tmp_path)]) == 1500
    assert spec_bytes_of([str(tmp_path / "missing.yaml")]) == 0  # the load says what is wrong
