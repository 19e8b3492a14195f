"""PATH arguments -> the spec files to read, and how paths group into configurations.

A folder means the *.yaml / *.yml entries directly in it, in sorted order: not its subfolders
(as in Terraform, a subfolder is another configuration; this keeps specs/examples/ out of the
fleet in specs/) and not its dotfiles (editor backups, hidden drafts). Any other entry with a
spec suffix (a named pipe, a dangling link) is listed, so that reading it reports what it is.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import Diagnostic

SPEC_SUFFIXES = (".yaml", ".yml")
_MISSING = (errno.ENOENT, errno.ENOTDIR)


def is_folder(path: str | Path) -> bool:
    """True when the path names a folder (following links); False for anything else."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def configurations(paths: Sequence[str | Path]) -> list[tuple[str | Path, ...]]:
    """Group PATH arguments into configurations: each folder alone, all other paths together.

    The group of files sits where its first file was named; a folder named twice is one
    configuration.
    """
    groups: list[list[str | Path]] = []
    files: list[str | Path] | None = None
    seen: set[Path] = set()
    for given in paths:
        if not is_folder(given):
            if files is None:
                files = []
                groups.append(files)
            files.append(given)
        elif _identity(Path(given)) not in seen:
            seen.add(_identity(Path(given)))
            groups.append([given])
    return [tuple(group) for group in groups]


def expand(paths: Sequence[str | Path], problems: list[Diagnostic]) -> list[tuple[Path, str]]:
    """Files to read, in order, each with the name used in messages; duplicates dropped."""
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if is_folder(path):
            candidates = _folder_files(path, problems)
        elif _missing(path):
            problems.append(Diagnostic(str(path), 0, 0, "no such file or folder"))
            candidates = []
        else:
            candidates = [path]  # whatever it is, reading it says what is wrong with it
        for candidate in candidates:
            identity = _identity(candidate)
            if identity not in seen:
                seen.add(identity)
                found.append((candidate, str(candidate)))
    return found


def _folder_files(folder: Path, problems: list[Diagnostic]) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if _spec_entry(e))
    except OSError as error:
        problems.append(
            Diagnostic(str(folder), 0, 0, f"cannot list the folder: {error.strerror or error}")
        )
        return []
    visible = [name for name in names if not name.startswith(".")]
    if not visible:
        hidden = " (dotfiles are ignored)" if names else ""
        problems.append(
            Diagnostic(str(folder), 0, 0, f"no *.yaml or *.yml files in folder{hidden}")
        )
    return [folder / name for name in visible]


def _spec_entry(entry: os.DirEntry[str]) -> bool:
    if not entry.name.endswith(SPEC_SUFFIXES):
        return False
    try:
        return not entry.is_dir()
    except OSError:
        return True


def _missing(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as error:
        return error.errno in _MISSING
    except ValueError:
        return False
    return False


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte
        return path.absolute()
