"""The collector paused over allocation-heavy work (core/collector.py): off inside, back on
after, whatever happened inside; never turned on by us when someone else turned it off."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from reconciler.core.collector import collector_paused
from reconciler.core.facts import ObservedState
from reconciler.spec.models import Spec


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_off_inside_and_on_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the outer pause decides
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_back_on_after_an_error() -> None:
    with pytest.raises(ZeroDivisionError), collector_paused():
        _ = 1 / 0
    assert gc.isenabled()


def test_someone_elses_pause_is_left_as_it_was() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_planning_leaves_the_collector_on_even_when_it_fails() -> None:
    from reconciler.app.plan import make_plan
    from reconciler.spec.loader import LoadedSpec

    loaded = LoadedSpec(spec=Spec())
    make_plan(loaded, ObservedState())
    assert gc.isenabled()
    with pytest.raises(AttributeError):
        make_plan(loaded, None)  # type: ignore[arg-type]
    assert gc.isenabled()
