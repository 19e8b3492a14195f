"""A run's processes, as /proc shows them (Linux): its workers are the children of its fork
server (reconciler/worker_start.py), not its own."""

from __future__ import annotations

from pathlib import Path


def run_workers(pid: int) -> list[int]:
    """The worker processes of the run `pid` (not multiprocessing's resource tracker)."""
    servers = [c for c in children(pid) if b"forkserver" in cmdline(c)]
    return [worker for server in servers for worker in children(server)]


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def alive(pid: int) -> bool:
    """Running: not gone, and not a zombie (ended, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
