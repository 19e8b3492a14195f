"""What a release says about itself agrees with the repository (docs/releases.md): one SemVer
version, the changelog's newest entry, the license, and links that lead to files that exist.
tests/release/ builds and installs the wheel; these checks need no build."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from reconciler import __version__

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
CHANGELOG = (REPO / "CHANGELOG.md").read_text()

# semver.org's regular expression for a version (2.0.0), without build metadata.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$"
)
# Keep a Changelog's release heading: `## [1.2.3] - 2027-01-15`, or `- Unreleased` before.
RELEASE = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<when>\d{4}-\d{2}-\d{2}|Unreleased))?$")


def releases() -> list[tuple[str, str | None]]:
    """(version, date or "Unreleased") of every entry, newest first as written."""
    return [
        (m["version"], m["when"]) for line in CHANGELOG.splitlines() if (m := RELEASE.match(line))
    ]


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split("."))


def test_the_version_is_semver_and_pyproject_reads_it_from_the_package() -> None:
    assert SEMVER.match(__version__), __version__
    assert "version" not in PROJECT and PROJECT["dynamic"] == ["version"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "reconciler.__version__"}


def test_the_changelogs_newest_entry_is_this_version() -> None:
    found = releases()
    assert found, "CHANGELOG.md has no `## [X.Y.Z] - DATE` heading"
    assert found[0][0] == __version__, f"CHANGELOG.md's newest entry is {found[0][0]}"
    assert all(SEMVER.match(v) for v, _ in found), found
    assert [v for v, _ in found] == sorted((v for v, _ in found), key=version_key, reverse=True)
    assert all(when != "Unreleased" for _, when in found[1:]), "only the newest is unreleased"


def test_every_changelog_version_has_its_link() -> None:
    for version, _ in releases():
        assert re.search(rf"^\[{re.escape(version)}\]: https://\S+$", CHANGELOG, re.M), version


def test_the_license_is_apache_2_and_ships_with_the_package() -> None:
    text = (REPO / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert PROJECT["license"] == "Apache-2.0"
    assert all((REPO / name).is_file() for name in PROJECT["license-files"])
    assert "the rds-encryption-reconciler authors" in (REPO / "NOTICE").read_text()


def test_the_python_classifiers_are_the_supported_versions() -> None:
    pythons = sorted(
        c.rsplit(" :: ", 1)[1]
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert pythons == ["3.11", "3.12", "3.13"]
    assert PROJECT["requires-python"] == ">=3.11"


def test_every_documentation_link_names_a_file_of_the_repository() -> None:
    urls = PROJECT["urls"]
    files = [u.split("/blob/main/", 1)[1] for u in urls.values() if "/blob/main/" in u]
    assert "CHANGELOG.md" in files and "docs/releases.md" in files
    missing = [f for f in files if not (REPO / f).is_file()]
    assert not missing, f"project.urls link to files that do not exist: {missing}"
    home = urls["Homepage"]
    assert all(u.startswith(home) for u in urls.values()), "one repository address for all"


def test_build_output_is_ignored_by_git() -> None:
    ignored = (REPO / ".gitignore").read_text().split()
    assert {"dist/", "build/", "*.egg-info/"} <= set(ignored)
