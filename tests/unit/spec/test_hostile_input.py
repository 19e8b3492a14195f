"""Input meant to break the loader: it must answer with FILE:LINE:COL diagnostics, every problem
at once, and never a traceback, a hang or unbounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.unit.spec.conftest import WriteFile, errors_of, load

REPO = Path(__file__).parents[3]


# --- explicit tags and numbers that do not convert ---------------------------------------------


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("!!int abc", "`abc` is tagged !!int but is not a whole number"),
        ('!!float ""', "an empty value is tagged !!float but is not a number"),
        ("!!float abc", "`abc` is tagged !!float but is not a number"),
        ("!!bool maybe", "`maybe` is tagged !!bool but is not true or false"),
        ("!!null abc", "`abc` is tagged !!null but is not empty"),
    ],
)
def test_explicit_tag_that_does_not_convert_is_an_error_at_its_value(
    write: WriteFile, value: str, fragment: str
) -> None:
    found = errors_of(write("a.yaml", f"version: {value}\n"))
    assert found == [f"a.yaml:1:10: {fragment}: remove the tag or fix the value"]


def test_tag_on_a_key_that_does_not_convert_is_an_error_at_the_key(write: WriteFile) -> None:
    found = errors_of(write("a.yaml", "version: 1\nkms_keys:\n  !!int abc: {alias: alias/k}\n"))
    assert found == [
        "a.yaml:3:3: `abc` is tagged !!int but is not a whole number: remove the tag or fix "
        "the value"
    ]


def test_an_integer_beyond_pythons_digit_limit_is_an_error(write: WriteFile) -> None:
    digits = "9" * 5000
    found = errors_of(write("a.yaml", f"version: {digits}\n"))
    assert found == [
        "a.yaml:1:10: `version`: a number of 5000 characters is too long: the only version is 1"
    ]


def test_a_huge_hexadecimal_integer_is_an_error(write: WriteFile) -> None:
    text = f"""\
    version: 1
    kms_keys:
      k:
        alias: alias/k
        rotation: {{interval_days: 0x{"f" * 5000}}}
    """
    found = errors_of(write("a.yaml", text))
    assert found == [
        "a.yaml:5:31: `kms_keys.k.rotation.interval_days`: a number of 5002 characters "
        "is too long: KMS accepts 7 to 730 days"
    ]


def test_a_huge_version_gets_the_projects_own_message(write: WriteFile) -> None:
    found = errors_of(write("a.yaml", "version: 99999999999999999999999\n"))
    assert found == [
        "a.yaml:1:10: `version`: the number 99999999999999999999999 is too large: "
        "the only version is 1"
    ]


def test_a_long_sexagesimal_number_is_refused_without_computing_it(write: WriteFile) -> None:
    import time

    path = write("a.yaml", "version: 1" + ":59" * 200_000 + "\n")
    start = time.perf_counter()
    found = errors_of(path)
    assert time.perf_counter() - start < 1.0
    assert found == [
        "a.yaml:1:10: `version`: a number of 600001 characters is too long: the only version is 1"
    ]


# --- duplicate keys ----------------------------------------------------------------------------


def test_errors_inside_the_first_of_two_duplicate_keys_are_reported(write: WriteFile) -> None:
    text = """\
    version: 1
    instances:
      pgm-bp1aaaa0000001:
        encryption: {key: nokey}
        region: Hangzhou
    kms_keys: {}
    instances:
      pgm-bp1aaaa0000002:
        encryption: enabled
    """
    found = errors_of(write("a.yaml", text))
    assert found == [
        "a.yaml:4:23: key `nokey` is not defined in kms_keys: use `service`, a name under "
        "kms_keys, or a KMS key id",
        "a.yaml:5:13: `Hangzhou` is not valid here: a region id looks like cn-hangzhou or "
        "ap-southeast-1",
        "a.yaml:7:1: duplicate key `instances` (first set at line 2); keep one",
        "a.yaml:9:17: `encryption` must be `disabled` or {key: NAME}, not `enabled`",
    ]


def test_three_definitions_of_one_key_are_all_validated(write: WriteFile) -> None:
    text = """\
    version: 1
    defaults: {region: Hangzhou}
    defaults: {restart: now}
    defaults: {account: 123}
    """
    found = errors_of(write("a.yaml", text))
    assert [line.split(": ", 1)[0] for line in found] == [
        "a.yaml:2:20",
        "a.yaml:3:1",
        "a.yaml:3:21",
        "a.yaml:4:1",
        "a.yaml:4:21",
    ]
    assert "duplicate key `defaults` (first set at line 2)" in found[1]
    assert "duplicate key `defaults` (first set at line 3)" in found[3]


def test_a_duplicate_inside_the_first_definition_is_validated_too(write: WriteFile) -> None:
    text = """\
    version: 1
    kms_keys:
      k:
        alias: alias/k
        rotation: {interval_days: 3}
        rotation: {interval_days: 5}
    kms_keys:
      k: {alias: alias/k}
    """
    found = errors_of(write("a.yaml", text))
    assert found == [
        "a.yaml:5:31: `kms_keys.k.rotation.interval_days` must be 7 to 730 days (what KMS "
        "accepts), not 3",
        "a.yaml:6:5: duplicate key `rotation` (first set at line 5); keep one",
        "a.yaml:6:31: `kms_keys.k.rotation.interval_days` must be 7 to 730 days (what KMS "
        "accepts), not 5",
        "a.yaml:7:1: duplicate key `kms_keys` (first set at line 2); keep one",
    ]


def test_many_duplicate_keys_stay_fast(write: WriteFile) -> None:
    import time

    body = "".join(f"  pgm-bp1aaaa0000001:\n    encryption: {{key: k{i}}}\n" for i in range(3000))
    path = write("a.yaml", "version: 1\ninstances:\n" + body)
    start = time.perf_counter()
    found = errors_of(path)
    assert time.perf_counter() - start < 3.0
    # 2999 duplicates; a dangling reference in the last definition and in the first 100 earlier
    # ones; and, at the 101st duplicate, that the earlier definitions of the rest are unchecked.
    assert len(found) == 2999 + 101 + 1
    assert (
        "a.yaml:205:3: more than 100 duplicate keys: the earlier definitions of this one and the "
        "next are not checked; fix the duplicates first"
    ) in found


# --- only regular files, read with a cap -------------------------------------------------------


def _load_in_a_child(path: Path) -> subprocess.CompletedProcess[str]:
    """Load in a separate process with a memory cap and a timeout, so a regression fails the
    test instead of hanging it or eating the machine's memory."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
        from reconciler.errors import SpecError
        from reconciler.spec import load_spec
        try:
            load_spec([{str(path)!r}])
        except SpecError as error:
            print(error)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=REPO,
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    done = _load_in_a_child(fifo)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{fifo}:1:1: not a regular file (a named pipe): give a spec file or a folder"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_without_reading_it() -> None:
    done = _load_in_a_child(Path("/dev/zero"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "/dev/zero:1:1: not a regular file (a character device): give a spec file or a folder"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_inside_a_folder_is_refused_too(write: WriteFile, tmp_path: Path) -> None:
    write("a.yaml", "version: 1\n")
    os.mkfifo(tmp_path / "b.yaml")
    done = _load_in_a_child(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "b.yaml:1:1: not a regular file (a named pipe)" in done.stdout


def test_a_symlink_to_a_regular_file_is_read(write: WriteFile, tmp_path: Path) -> None:
    target = write("real/a.yaml", "version: 1\n")
    (tmp_path / "link.yaml").symlink_to(target)
    assert load(tmp_path / "link.yaml").spec.version == 1


def test_a_dangling_symlink_in_a_folder_is_reported(write: WriteFile, tmp_path: Path) -> None:
    write("a.yaml", "version: 1\n")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "missing.yaml")
    found = errors_of(tmp_path)
    assert len(found) == 1 and found[0].startswith("b.yaml:1:1: cannot read the file")


# --- deep nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 2000 + "]" * 2000 + "\n",
        "a: " + "{a: " * 2000 + "}" * 2000 + "\n",
        "? " + "[" * 2000 + "\n",
        "a: " + "[" * 40 + "]" * 40 + "\n",
        "".join(" " * i + f"k{i}:\n" for i in range(60)),
    ],
    ids=["flow-list-2000", "flow-map-2000", "complex-key-2000", "flow-list-40", "block-60"],
)
def test_deep_nesting_gets_the_projects_own_message(write: WriteFile, text: str) -> None:
    """Whichever refuses first, PyYAML (libyaml >= 0.2.5 stops deep flow nesting at 1000 levels,
    before the event stream reaches our check) or our own check at 33 levels, the message is ours.
    Where it points differs between PyYAML versions; what else is reported before it may too."""
    found = errors_of(write("deep.yaml", text))
    assert found[-1].startswith("deep.yaml:")
    assert found[-1].endswith(": nesting deeper than 32 levels is refused")
    assert not any("exceeded maximum nesting depth" in line for line in found)
