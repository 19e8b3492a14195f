"""`-o FILE` writes regular files only (docs/exit-codes.md): a path that exists
and is not a regular file (a symbolic link, even to a regular file; a FIFO; a device; a folder)
is refused before any cloud call, and nothing the run did not create is ever removed."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli.outfile import OutFile
from tests.e2e import world
from tests.e2e.conftest import PlanRun, run_cli

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
OLD = '{"format_version": "1", "old": true}\n'


def _symlink_to_file(tmp_path: Path) -> Path:
    target = tmp_path / "real.json"
    target.write_text(OLD)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    return link


def _symlink_to_dev_null(tmp_path: Path) -> Path:
    link = tmp_path / "null.json"
    link.symlink_to(os.devnull)
    return link


def _dangling_symlink(tmp_path: Path) -> Path:
    link = tmp_path / "dangling.json"
    link.symlink_to(tmp_path / "nowhere.json")
    return link


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    return fifo


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "folder.json"
    folder.mkdir()
    (folder / "inside").write_text("kept")
    return folder


def _char_device(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    node = tmp_path / "null-device.json"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null of our own
    return node


KINDS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "symlink to a regular file": (_symlink_to_file, "symbolic link"),
    "symlink to /dev/null": (_symlink_to_dev_null, "symbolic link"),
    "dangling symlink": (_dangling_symlink, "symbolic link"),
    "fifo": (_fifo, "FIFO"),
    "folder": (_folder, "folder"),
    "character device": (_char_device, "device"),
}


def _snapshot(path: Path) -> tuple[int, int, int, str | None]:
    """What is at `path` itself (not followed): kind, inode, size, and a link's target."""
    info = path.lstat()
    target = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
    return stat.S_IFMT(info.st_mode), info.st_ino, info.st_size, target


def _run(command: str, endpoint: str, out: Path) -> PlanRun:
    extra = ("--format", "json") if command == "plan" else ()
    return run_cli("--endpoint", endpoint, command, SPECS, "-o", str(out), *extra)


@pytest.mark.parametrize("command", ["plan", "drift"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_path_that_is_not_a_regular_file_is_refused_before_any_cloud_call(
    demo, tmp_path: Path, command: str, kind: str
) -> None:  # type: ignore[no-untyped-def]
    make, named = KINDS[kind]
    path = make(tmp_path)
    before = _snapshot(path)
    listing = sorted(p.name for p in tmp_path.iterdir())
    world.reset_calls(demo.endpoint)
    run = _run(command, demo.endpoint, path)
    assert run.exit_code == 1, run.stderr
    assert world.calls(demo.endpoint) == {}, "refused before any cloud call"
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1, run.stderr
    assert str(path) in run.stderr and named in run.stderr
    assert "regular file" in run.stderr, "says what to do"
    assert "Traceback" not in run.stderr
    assert _snapshot(path) == before, "the thing at the path is unchanged"
    assert sorted(p.name for p in tmp_path.iterdir()) == listing, "no file left behind"


def test_a_symlinked_file_keeps_its_target_untouched(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    link = _symlink_to_file(tmp_path)
    run = _run("plan", demo.endpoint, link)
    assert run.exit_code == 1
    assert (tmp_path / "real.json").read_text() == OLD


def test_the_failure_path_removes_only_the_regular_file_it_checked(tmp_path: Path) -> None:
    """A FIFO put at the path after the check (by someone else) is not removed."""
    path = tmp_path / "plan.json"
    out = OutFile.prepare(str(path))
    os.mkfifo(path)
    line = out.abandon("this plan failed")
    assert stat.S_ISFIFO(path.lstat().st_mode), "someone else's FIFO is left alone"
    assert line is not None and "not a regular file" in line


def test_the_failure_path_keeps_a_file_that_replaced_the_checked_one(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(OLD)
    out = OutFile.prepare(str(path))
    other = tmp_path / "other.json"
    other.write_text("someone else's\n")
    os.replace(other, path)
    line = out.abandon("this plan failed")
    assert path.read_text() == "someone else's\n"
    assert line is not None and "changed since" in line


def test_the_failure_path_removes_the_old_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(OLD)
    line = OutFile.prepare(str(path)).abandon("this plan failed")
    assert not path.exists()
    assert line == f"Removed the old {path}: this plan failed, so it must not be used."


def test_commit_does_not_replace_a_symlink_made_after_the_check(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    out = OutFile.prepare(str(path))
    target = tmp_path / "elsewhere"
    target.write_text(OLD)
    path.symlink_to(target)
    with pytest.raises(Exception, match="symbolic link"):
        out.commit("{}\n")
    assert path.is_symlink() and target.read_text() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "plan.json"]


def test_import_refuses_a_symlink_where_it_would_write(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "imported"
    folder.mkdir()
    (folder / "spec.schema.json").symlink_to(os.devnull)
    world.reset_calls(demo.endpoint)
    run = run_cli("--endpoint", demo.endpoint, "import", "-o", str(folder))
    assert run.exit_code == 1
    assert world.calls(demo.endpoint) == {}
    assert "symbolic link" in run.stderr and run.stderr.count("\n") == 1
    assert (folder / "spec.schema.json").is_symlink()
