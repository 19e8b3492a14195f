"""Read one spec file: regular files only, never more than MAX_FILE_BYTES, strict UTF-8.

A path can name anything: a named pipe (opening it waits for a writer, forever), a device such
as /dev/zero (endless), a socket. The file is checked with stat before it is opened, opened
without blocking, checked again on the open descriptor (the path may have been swapped in
between), and read with a cap, so no input hangs the loader or fills the memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import NamedTuple

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Files above this are refused before reading (a 5,000-instance spec is about 0.5 MB)."""

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class ReadProblem(NamedTuple):
    """Why a file was not read, and where (line 1, column 1 unless a byte is to blame)."""

    message: str
    line: int = 1
    col: int = 1


def read_text(path: Path) -> str | ReadProblem:
    """The file's text (strict UTF-8, a BOM dropped), or why it was not read."""
    raw = read_bytes(path)
    if isinstance(raw, str):
        return ReadProblem(raw)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        return ReadProblem(
            f"the file is not UTF-8 (byte 0x{raw[error.start]:02x}): save it as UTF-8",
            before.count(b"\n") + 1,
            error.start - (before.rfind(b"\n") + 1) + 1,
        )


def read_bytes(path: Path) -> bytes | str:
    """The file's content, or a message saying why it was not read."""
    try:
        problem = _refusal(os.stat(path))
        if problem:
            return problem
        descriptor = os.open(path, _FLAGS)
    except (OSError, ValueError) as error:
        return _cannot_read(error)
    try:
        info = os.fstat(descriptor)
        problem = _refusal(info)
        if problem:
            return problem
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(descriptor, min(1 << 20, MAX_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        return _cannot_read(error)
    finally:
        os.close(descriptor)
    if size > MAX_FILE_BYTES:
        return f"file is over {MAX_FILE_BYTES} bytes; files above {MAX_FILE_BYTES} are refused"
    return b"".join(chunks)


def _refusal(info: os.stat_result) -> str | None:
    """Why a file of this kind or size is not read, or None."""
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
        return f"not a regular file ({kind}): give a spec file or a folder"
    if info.st_size > MAX_FILE_BYTES:
        return f"file is {info.st_size} bytes; files above {MAX_FILE_BYTES} are refused"
    return None


def _cannot_read(error: OSError | ValueError) -> str:
    if isinstance(error, OSError):
        return f"cannot read the file: {error.strerror or error}"
    return f"cannot read the file: {error}"  # e.g. a NUL byte in the path
