"""The release as a user installs it (docs/releases.md, README "Install").

Builds the sdist and, from it, the wheel with the locked build tools (as `make dist` does),
installs the runtime lock and the wheel into a fresh venv (the README's commands), and runs the
installed `reconciler` from a folder outside the source tree, so nothing can come from the
checkout: a data file the wheel lacks, a dependency the runtime lock lacks, or a version that
is not the one released fails here. Built and installed once per module; about 30 s with pip's
cache warm. Deselect with `-m "not release"`; `make test` runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from reconciler import __version__

pytestmark = pytest.mark.release

REPO = Path(__file__).resolve().parents[2]
DIST_NAME = "rds_encryption_reconciler"


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; its stdout, or a failure that shows what it printed."""
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, (
        f"{argv} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    return done.stdout


def outside_env(home: Path) -> dict[str, str]:
    """The environment of a user's shell: nothing that points Python at the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
        and not k.startswith("ALIBABA_CLOUD_")
    }
    return {**env, "RECONCILER_STATE_HOME": str(home), "CI": "1"}


def clean_checkout(target: Path) -> Path:
    """The files git tracks or would track (committed or not), as a fresh clone has them: no
    build/ or *.egg-info/ left by an earlier build, whose SOURCES.txt setuptools would reuse
    (it would hide a data file that pyproject.toml no longer ships)."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    return target


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/ as `make dist` makes it: the sdist, then the wheel built from the sdist."""
    source = clean_checkout(tmp_path_factory.mktemp("checkout"))
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source, cwd=source)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob(f"{DIST_NAME}-*-py3-none-any.whl")
    return found


@pytest.fixture(scope="module")
def sdist(dist: Path) -> Path:
    (found,) = dist.glob(f"{DIST_NAME}-*.tar.gz")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the README's two installs: the runtime lock (hashes checked), then the
    wheel alone."""
    folder = tmp_path_factory.mktemp("user") / "venv"
    outside = folder.parent
    env = outside_env(outside)
    run(sys.executable, "-m", "venv", folder, cwd=outside, env=env)
    pip = (folder / "bin" / "python", "-m", "pip", "install", "--quiet")
    lock = REPO / "requirements-runtime.lock"
    run(*pip, "--require-hashes", "-r", lock, cwd=outside, env=env)
    run(*pip, "--no-deps", wheel, cwd=outside, env=env)
    return folder


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A folder outside the checkout with the demo fleet's spec (specs/*.yaml) in spec/."""
    spec = tmp_path / "spec"
    spec.mkdir()
    for file in sorted((REPO / "specs").glob("*.yaml")):
        shutil.copy(file, spec)
    return tmp_path


def test_version_is_the_released_one(venv: Path, user_dir: Path) -> None:
    out = run(venv / "bin" / "reconciler", "--version", cwd=user_dir, env=outside_env(user_dir))
    assert out == f"reconciler {__version__}\n"
    assert __version__ == "0.2.0"


def test_the_installed_package_is_the_wheel_not_the_checkout(venv: Path, user_dir: Path) -> None:
    code = "import reconciler; print(reconciler.__file__)"
    out = run(venv / "bin" / "python", "-c", code, cwd=user_dir, env=outside_env(user_dir))
    assert Path(out.strip()).is_relative_to(venv), out


def test_the_runtime_lock_satisfies_the_wheels_requirements(venv: Path, user_dir: Path) -> None:
    """The wheel was installed with --no-deps: pip check finds any Requires-Dist the runtime
    lock does not provide, or provides outside its range."""
    run(venv / "bin" / "python", "-m", "pip", "check", cwd=user_dir, env=outside_env(user_dir))


def test_plan_on_the_emulator_from_outside_the_checkout(venv: Path, user_dir: Path) -> None:
    """The emulator's demo seed is read from the installed package (package data), and the
    plan is the one the checkout makes of the same spec on the same world."""
    env = outside_env(user_dir)
    argv = ("--emulator", "--emulator-state", user_dir / "world.sqlite", "plan", "spec")
    installed = run(venv / "bin" / "reconciler", *argv, cwd=user_dir, env=env)
    (user_dir / "world.sqlite").unlink()
    checkout = run(sys.executable, "-m", "reconciler", *argv, cwd=user_dir, env=env)
    assert installed == checkout
    assert re.search(r"^Plan: [1-9]\d* to create, \d+ to update, \d+ to delete", installed, re.M)
    assert "ram_policy.AliyunRDSInstanceEncryptionRolePolicy" in installed


def test_sdist_holds_license_changelog_readme_and_the_runtime_lock(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
        top = sdist.name.removesuffix(".tar.gz")
        for name in ("LICENSE", "NOTICE", "CHANGELOG.md", "README.md", "requirements-runtime.lock"):
            assert name in names, f"{name} is not in the sdist"
            member = archive.extractfile(f"{top}/{name}")
            assert member is not None
            assert member.read() == (REPO / name).read_bytes(), f"{name} differs from the repo's"
    assert "reconciler/emulator/seeds/demo.yaml" in names
    assert not [n for n in names if n.startswith("tests/")], "the sdist ships the tests"


def test_wheel_metadata_names_the_license_and_version(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        info = f"{DIST_NAME}-{__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        assert archive.read(f"{info}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
        assert f"{info}/licenses/NOTICE" in archive.namelist()
    assert f"\nVersion: {__version__}\n" in metadata
    assert "\nLicense-Expression: Apache-2.0\n" in metadata
    # What a plain `pip install` of the wheel pulls in is the runtime set, never a dev tool.
    unconditional = re.findall(r"^Requires-Dist: ([A-Za-z0-9._-]+)[^;\n]*$", metadata, re.M)
    assert unconditional, "the wheel declares no dependency"
    assert not {"pytest", "ruff", "selenium", "matplotlib", "hypothesis"} & set(unconditional)
