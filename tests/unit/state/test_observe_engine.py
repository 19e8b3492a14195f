"""The observe engine (state/observe.py) is kind-agnostic (issue 17): it asks each kind of the
registry for its reads, runs every kind's follow-up reads only once every first answer is in,
builds the state from the kinds' fields, and stops on any kind's failed read (fail closed)."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any, cast

import pytest

from reconciler.cloud.clients import CloudClients
from reconciler.errors import CloudCallError, ObserveError
from reconciler.kinds import KINDS
from reconciler.spec.models import Spec
from reconciler.state import observe as engine
from reconciler.state.reads import Reader, ReadScope

OBSERVE = Path(engine.__file__)
NO_CLIENTS = cast(CloudClients, object())
"""The fake kinds below call no cloud: the engine only hands the clients through."""


class _Chained:
    """A kind whose first read's answer submits a second read (as a listed page does)."""

    name = "chained"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def start_reads(self, reader: Reader, scope: ReadScope) -> None:
        self.reader = reader
        reader.submit(self._then_more, lambda: "page 1")

    def _then_more(self, answer: str) -> None:
        self.log.append(answer)
        self.reader.submit(self.log.append, self._slow_page)

    @staticmethod
    def _slow_page() -> str:
        time.sleep(0.05)  # a follow-up started before this answer would not see it
        return "page 2"

    def follow_up_reads(self, reader: Reader, scope: ReadScope) -> None:
        self.log.append("chained follow-up")

    def observed_fields(self, reader: Reader, scope: ReadScope) -> dict[str, Any]:
        return {"regions_listed": [a for a in self.log if a.startswith("page")]}


class _Late:
    """A kind whose follow-up reads what the other kind's chained reads recorded."""

    name = "late"

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.seen: list[str] = []

    def start_reads(self, reader: Reader, scope: ReadScope) -> None:
        self.log.append("late start")

    def follow_up_reads(self, reader: Reader, scope: ReadScope) -> None:
        self.seen = list(self.log)
        reader.submit(self.log.append, lambda: "late read")

    def observed_fields(self, reader: Reader, scope: ReadScope) -> dict[str, Any]:
        return {"task_regions": ["late"] if "late read" in self.log else []}


def _kinds(monkeypatch: pytest.MonkeyPatch, *kinds: Any) -> None:
    monkeypatch.setattr(engine, "KINDS", kinds)


def test_follow_ups_run_after_every_first_answer_of_every_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[str] = []
    chained, late = _Chained(log), _Late(log)
    _kinds(monkeypatch, chained, late)

    state = engine.observe(Spec(), NO_CLIENTS, parallelism=2)

    assert {"page 1", "page 2"} <= set(late.seen), "a follow-up ran before a chained answer"
    assert state.regions_listed == ["page 1", "page 2"]
    assert state.task_regions == ["late"]


def test_progress_counts_every_read_of_every_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []
    chained, late = _Chained(log), _Late(log)
    _kinds(monkeypatch, chained, late)
    seen: list[tuple[int, int]] = []

    engine.observe(Spec(), NO_CLIENTS, parallelism=2, progress=lambda d, t: seen.append((d, t)))

    assert seen[-1] == (3, 3)


def test_a_failed_read_of_any_kind_stops_observe_naming_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Failing(_Late):
        def follow_up_reads(self, reader: Reader, scope: ReadScope) -> None:
            reader.submit(self.log.append, self._fail)

        def _fail(self) -> str:
            error = CloudCallError("DescribeKey", "Forbidden.Odd", "no", 403, "REQ-1")
            error.resource = "alias/x"
            raise error

    log: list[str] = []
    chained = _Chained(log)
    _kinds(monkeypatch, chained, Failing(log))

    with pytest.raises(ObserveError) as raised:
        engine.observe(Spec(), NO_CLIENTS, parallelism=2)

    for part in ("DescribeKey", "alias/x", "Forbidden.Odd", "REQ-1"):
        assert part in str(raised.value)


def test_two_kinds_setting_one_fact_field_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []
    first, second = _Chained(log), _Chained(log)
    _kinds(monkeypatch, first, second)

    with pytest.raises(ValueError, match="regions_listed"):
        engine.observe(Spec(), NO_CLIENTS, parallelism=2)


def test_every_registered_kind_provides_its_reads() -> None:
    for kind in KINDS:
        module = type(kind).__module__
        assert type(kind).start_reads.__module__ == module, kind.name
        assert type(kind).observed_fields.__module__ == module, kind.name


def test_the_engine_imports_no_cloud_service_and_names_no_kind() -> None:
    """The reads of a kind live in kinds/<kind>/read.py, not in the engine."""
    tree = ast.parse(OBSERVE.read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    services = {"reconciler.cloud", "reconciler.cloud.kms", "reconciler.cloud.rds"}
    assert imported & (services | {"reconciler.cloud.ram"}) == set()
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert names & {"kms", "rds", "ram", "KeyRef", "KeyState", "SERVICE_KEY"} == set()


def _account_clients() -> CloudClients:
    """A stand-in for one account's clients: observe_accounts only asks its settings."""
    from types import SimpleNamespace

    return cast(CloudClients, SimpleNamespace(settings=SimpleNamespace(processes=1)))


class _Meeting:
    """A kind whose read in account A waits for account B's read to start: it meets it only
    when both accounts are read at once."""

    name = "meeting"

    def __init__(self, a: CloudClients, fail_in: CloudClients | None = None) -> None:
        import threading

        self.a, self.fail_in = a, fail_in
        self.b_started = threading.Event()
        self.met: dict[int, bool] = {}

    def start_reads(self, reader: Reader, scope: ReadScope) -> None:
        clients = reader.clients  # type: ignore[attr-defined]
        if clients is self.fail_in:
            reader.submit(lambda _: None, self._fail)
        elif clients is self.a:
            reader.submit(lambda met: self.met.update({id(clients): met}), self._wait_for_b)
        else:
            reader.submit(lambda _: None, self.b_started.set)

    def _wait_for_b(self) -> bool:
        return self.b_started.wait(timeout=3)

    @staticmethod
    def _fail() -> None:
        raise CloudCallError("DescribeDBInstances", "Forbidden.RAM", "no", 403, "REQ-B")

    def follow_up_reads(self, reader: Reader, scope: ReadScope) -> None:
        pass

    def observed_fields(self, reader: Reader, scope: ReadScope) -> dict[str, Any]:
        return {}


def test_several_accounts_are_read_at_once_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """No account waits for another's slowest region: their reads overlap (one pool of
    `parallelism` threads), and the progress shown is their sum."""
    a, b = _account_clients(), _account_clients()
    meeting = _Meeting(a)
    _kinds(monkeypatch, meeting)
    seen: list[tuple[int, int]] = []

    found = engine.observe_accounts(
        {"alpha": (Spec(), a), "beta": (Spec(), b)},
        parallelism=2,
        progress=lambda d, t: seen.append((d, t)),
    )

    assert set(found) == {"alpha", "beta"}
    assert meeting.met == {id(a): True}, "account alpha was read before beta started"
    assert seen[-1] == (2, 2)


def test_a_failed_read_in_one_account_stops_every_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = _account_clients(), _account_clients()
    _kinds(monkeypatch, _Meeting(a, fail_in=b))

    with pytest.raises(ObserveError, match="REQ-B"):
        engine.observe_accounts({"alpha": (Spec(), a), "beta": (Spec(), b)}, parallelism=2)


class _FreezeSeen(_Late):
    """A kind whose one read notes how many objects the collector leaves out meanwhile."""

    def __init__(self, log: list[str], fail: bool = False) -> None:
        super().__init__(log)
        self.frozen_during: list[int] = []
        self.fail = fail

    def start_reads(self, reader: Reader, scope: ReadScope) -> None:
        reader.submit(lambda _: None, self._read)

    def _read(self) -> None:
        import gc

        self.frozen_during.append(gc.get_freeze_count())
        if self.fail:
            raise CloudCallError("DescribeKey", "Forbidden.Odd", "no", 403, "REQ-1")

    def follow_up_reads(self, reader: Reader, scope: ReadScope) -> None:
        pass


@pytest.mark.parametrize("fail", [False, True])
def test_objects_alive_before_are_left_out_of_collections_only_while_reading(
    monkeypatch: pytest.MonkeyPatch, fail: bool
) -> None:
    """A full collection of the spec and the SDK's modules stalled every worker for 50-70 ms
    at 1,000 instances: they are frozen while reading, and thawed after, failed or not."""
    import gc

    kind = _FreezeSeen([], fail=fail)
    _kinds(monkeypatch, kind)
    assert gc.get_freeze_count() == 0

    if fail:
        with pytest.raises(ObserveError):
            engine.observe(Spec(), NO_CLIENTS, parallelism=2)
    else:
        engine.observe(Spec(), NO_CLIENTS, parallelism=2)

    assert kind.frozen_during and kind.frozen_during[0] > 1000
    assert gc.get_freeze_count() == 0, "observe left objects frozen"


def test_someone_elses_freeze_is_left_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    kind = _FreezeSeen([])
    _kinds(monkeypatch, kind)
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        engine.observe(Spec(), NO_CLIENTS, parallelism=2)
        assert gc.get_freeze_count() == before
    finally:
        gc.unfreeze()
