"""Helpers for spec tests: write YAML files into tmp_path and load them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec import LoadedSpec, load_spec

WriteFile = Callable[[str, str], Path]


@pytest.fixture
def write(tmp_path: Path) -> WriteFile:
    """write("a.yaml", text) -> the path; text is dedented."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def load(*paths: Path | str) -> LoadedSpec:
    return load_spec(list(paths))


def errors_of(*paths: Path | str) -> list[str]:
    """The diagnostics as `name:line:col: message` with the file's base name only."""
    with pytest.raises(SpecError) as caught:
        load_spec(list(paths))
    return [f"{Path(d.file).name}:{d.line}:{d.col}: {d.message}" for d in caught.value.diagnostics]
