"""Where a SARIF report's artifact URIs are relative to (code scanning resolves them against
the repository root), and the tool's information URI: the file-system and git look-ups the
pure SARIF renderer must not make (docs/drift-format.md, "SARIF")."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reconciler.render.sarif import SarifContext

GIT_TIMEOUT_SECONDS = 5


def sarif_context(spec_files: list[str], base: str | None) -> SarifContext:
    root = Path(base).resolve() if base else _git_top_level(spec_files)
    relative: dict[str, str] = {}
    if root is not None:
        for name in spec_files:
            try:
                relative[name] = Path(name).resolve().relative_to(root).as_posix()
            except ValueError:  # outside the root: named as given
                continue
    return SarifContext(
        root_uri=root.as_uri() + "/" if root is not None else None,
        relative=relative,
        information_uri=information_uri(),
    )


def _git_top_level(spec_files: list[str]) -> Path | None:
    """git's top level of the first spec file's folder; None outside a work tree or without
    git (the URIs then stay as given)."""
    if not spec_files:
        return None
    folder = Path(spec_files[0]).resolve().parent
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    top = done.stdout.strip()
    return Path(top).resolve() if done.returncode == 0 and top else None


def information_uri() -> str | None:
    """The project's home page from the installed package's metadata (Project-URL Homepage,
    Repository, Source or Documentation, in that order); None when it names none."""
    from importlib.metadata import PackageNotFoundError, metadata

    from reconciler.app.drift import PACKAGE

    try:
        urls = metadata(PACKAGE).get_all("Project-URL") or []
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return None
    by_label = {}
    for entry in urls:
        label, _, url = entry.partition(",")
        by_label[label.strip().lower()] = url.strip()
    for label in ("homepage", "repository", "source", "documentation"):
        if by_label.get(label, "").startswith("https://"):
            return by_label[label]
    return None
