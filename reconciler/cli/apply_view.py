"""What `reconciler apply` shows while it runs and when it ends.

While it runs (ApplyEvent from the executor):
- on a terminal outside CI: a live display, one row per change (a bar with the cloud's own
  progress and remaining time while an instance re-encrypts), and a line above it for each
  write, failure or finish, so the scrollback keeps the story;
- in CI or a pipe: one plain line per state change of a change (started, write sent,
  waiting, done, scheduled, failed, skipped); progress only every PLAIN_PROGRESS_SECONDS per
  change, so a long re-encryption keeps a CI log alive without flooding it.
At the end: the summary (done, scheduled with the window, failed with the cloud's code and
request id, not started) and a last line `Apply complete! ...` or `Apply failed: ...`.
`result_document()` is the same as JSON (`--format json`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO, Any

import click

from reconciler.kinds import kind_of

LABEL_WIDTH = 36
"""Characters of the address in a live row (rds_encryption.<instance id> fits)."""
PLAIN_PROGRESS_SECONDS = 60.0
"""In plain output, at most one progress line per change this often (CI logs stay alive)."""
RESULT_FORMAT_VERSION = "1"
_FINAL = ("done", "scheduled", "failed", "skipped")


class PlainView:
    """One line per state change, for CI logs and pipes."""

    def __init__(
        self,
        stream: IO[str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, tuple[str, str]] = {}
        self._last_progress: dict[str, float] = {}

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def on_event(self, event: Any) -> None:
        with self._lock:
            if event.kind == "progress":
                now = self._clock()
                since = self._last_progress.get(event.address)
                if since is not None and now - since < PLAIN_PROGRESS_SECONDS:
                    return
                self._last_progress[event.address] = now
            elif self._last.get(event.address) == (event.kind, event.message):
                return  # the same state again: not a change
            self._last[event.address] = (event.kind, event.message)
            click.echo(_line(event), file=self._stream)


class LiveView:
    """A rich display on a terminal: a row per change with its progress."""

    def __init__(self, plan: Any, stream: IO[str], *, color: bool) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
        )
        from rich.table import Column

        self._width = min(LABEL_WIDTH, max((len(c.address) for c in plan.changes), default=0))
        self._console = Console(file=stream, no_color=not color, highlight=False)
        self._progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn(
                "{task.fields[label]}",
                table_column=Column(min_width=self._width, no_wrap=True),
            ),
            BarColumn(bar_width=12),
            TaskProgressColumn(),
            TextColumn(
                "{task.fields[state]}",
                table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis"),
            ),
            console=self._console,
            transient=False,
            expand=True,
        )
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> LiveView:
        self._progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._progress.stop()

    def on_event(self, event: Any) -> None:
        with self._lock:
            task = self._tasks.get(event.address)
            if task is None:
                task = self._progress.add_task(
                    event.address,
                    total=100,
                    label=_label(event.address, self._width),
                    state="",
                )
                self._tasks[event.address] = task
            update: dict[str, Any] = {"state": _state_text(event)}
            if event.progress is not None:
                update["completed"] = max(0.0, min(100.0, float(event.progress)))
            if event.kind in _FINAL:
                update["completed"] = 100
            self._progress.update(task, **update)
            if event.kind in ("write", "failed", "done", "scheduled", "skipped"):
                self._console.print(_line(event), markup=False)


def _label(address: str, width: int) -> str:
    """The address in a fixed width; a long one keeps its end (the names that differ) and,
    with several accounts, its account in front (`<account>/…<end>`)."""
    if len(address) > width:
        account, slash, _ = address.partition("/")
        head = account + slash if slash and len(account) < width // 3 else ""
        address = head + "…" + address[-(width - 1 - len(head)) :]
    return address.ljust(width)


def _state_text(event: Any) -> str:
    """The row's text: what _line says after the address, the percentage left to the bar."""
    if event.kind != "progress":
        return _line(event).partition(": ")[2]
    text = _without_address(event.message, event.address)
    if event.remain_s is not None:
        text += f" (about {_duration(event.remain_s)} left)"
    return text


def _line(event: Any) -> str:
    """`<address>: <what happened>`, the address said once."""
    address, kind = event.address, event.kind
    text = _without_address(event.message, address)
    if kind == "started":
        text = f"{text} started" if text else "started"
    elif kind == "write":
        text = f"sent {text}"
    elif kind == "done":
        text = "done" if text in ("", "done") else f"done: {text}"
    elif kind in ("scheduled", "failed"):
        text = f"{kind}: {text}"
    elif kind == "progress":
        pieces = [f"{event.progress:.0f}%" if event.progress is not None else ""]
        if event.remain_s is not None:
            pieces.append(f"about {_duration(event.remain_s)} left")
        extra = ", ".join(p for p in pieces if p)
        text = f"{text} ({extra})" if extra else text
    return f"{address}: {text}"


def _without_address(message: str, address: str) -> str:
    """The executor's messages often name the address themselves: say it once."""
    text = message.strip()
    if text.startswith(address):
        text = text[len(address) :].lstrip(": ")
    elif text.endswith(f" {address}"):
        text = text[: -len(address)].rstrip()
    name = address.partition(".")[2]
    if name and text.startswith(f"{name}: "):  # `pgm-x: task ...` under rds_encryption.pgm-x
        text = text[len(name) + 2 :]
    return text


def _duration(value: float) -> str:
    seconds = max(0, round(value))
    if seconds < 60:
        return f"{seconds}s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


# --- the end -------------------------------------------------------------------------------


def _window(plan: Any, address: str) -> str | None:
    change = plan.change(address)
    if change is None:
        return None
    return kind_of(change.address).maintenance_window(change)


def _requests(outcome: Any) -> str:
    ids = list(outcome.request_ids)
    if not ids:
        return ""
    label = "request id" if len(ids) == 1 else "request ids"
    return f" ({label} {', '.join(ids)})"


def counts(result: Any) -> dict[str, int]:
    statuses = [o.status for o in result.outcomes]
    return {
        "changed": statuses.count("done"),
        "scheduled": statuses.count("scheduled"),
        "failed": statuses.count("failed"),
        "not_started": statuses.count("not_started"),
    }


def summary_lines(plan: Any, result: Any, *, interrupted: bool = False) -> list[str]:
    """The summary printed after the run; the last line says how it ended."""
    out: list[str] = []
    sections = (
        ("done", "Done:", "+"),
        ("scheduled", "Scheduled (each runs, and restarts its instance, in its window):", "~"),
        ("failed", "Failed:", "x"),
        ("not_started", "Not started:", "-"),
    )
    for status, title, mark in sections:
        outcomes = [o for o in result.outcomes if o.status == status]
        if not outcomes:
            continue
        out.append(title)
        for outcome in outcomes:
            detail = outcome.detail
            if status == "scheduled":
                window = _window(plan, outcome.address)
                if window and window not in detail:
                    detail = f"{detail}; window {window}" if detail else f"window {window}"
            if status == "failed":  # the request id to quote to the cloud's support
                detail += _requests(outcome)
            out.append(
                f"  {mark} {outcome.address}: {detail}" if detail else f"  {mark} {outcome.address}"
            )
        out.append("")
    out.append(final_line(result, interrupted=interrupted))
    return out


def final_line(result: Any, *, interrupted: bool = False) -> str:
    n = counts(result)
    if interrupted:
        return (
            f"Apply interrupted: {n['changed']} changed, {n['scheduled']} scheduled, "
            f"{n['failed']} failed, {n['not_started']} not started."
        )
    if result.ok:
        return f"Apply complete! {n['changed']} changed, {n['scheduled']} scheduled."
    return (
        f"Apply failed: {n['changed']} changed, {n['scheduled']} scheduled, {n['failed']} "
        f"failed, {n['not_started']} not started."
    )


def result_document(plan: Any, result: Any) -> dict[str, Any]:
    """`apply --format json`: the outcome of every change of the plan, in plan order."""
    return {
        "format_version": RESULT_FORMAT_VERSION,
        "ok": bool(result.ok),
        "plan": {
            "plan_id": plan.plan_id,
            "fingerprint": plan.fingerprint,
            "spec_digest": plan.spec_digest,
            "created_at": plan.created_at,
        },
        "summary": counts(result),
        "outcomes": [
            {
                "address": o.address,
                "status": o.status,
                "detail": o.detail,
                "request_ids": list(o.request_ids),
                "maintenance_window": _window(plan, o.address) if o.status == "scheduled" else None,
            }
            for o in result.outcomes
        ],
    }
