"""Messages say only true things: how a value was written, in the project's own words."""

from __future__ import annotations

import pytest

from tests.unit.spec.conftest import WriteFile, errors_of

KEY = "version: 1\nkms_keys:\n  k:\n    alias: alias/k\n"


@pytest.mark.parametrize(
    "value, shown",
    [
        ("maybe", "not `maybe`"),
        ('"maybe"', 'not the quoted text "maybe": remove the quotes'),
        ("'true'", 'not the quoted text "true": remove the quotes'),
        ("!!str true", "not the text `true` (tagged !!str): remove the tag"),
        ("!Ref true", "not the text `true` (tagged !Ref): remove the tag"),
    ],
)
def test_a_boolean_written_as_text_is_described_as_written(
    write: WriteFile, value: str, shown: str
) -> None:
    found = errors_of(write("a.yaml", KEY + f"    rotation:\n      enabled: {value}\n"))
    assert f"a.yaml:6:16: `kms_keys.k.rotation.enabled`: must be true or false, {shown}" in found


def test_a_number_written_as_a_block_is_not_said_to_be_quoted(write: WriteFile) -> None:
    found = errors_of(write("a.yaml", KEY + "    rotation:\n      interval_days: |\n        365\n"))
    assert found == [
        "a.yaml:6:22: `kms_keys.k.rotation.interval_days`: must be a whole number, "
        "not the text `365\\n`"
    ]


def test_a_huge_version_is_not_worded_by_pydantic(write: WriteFile) -> None:
    found = errors_of(write("a.yaml", "version: 12345678901234567890\n"))
    assert found == [
        "a.yaml:1:10: `version`: the number 12345678901234567890 is too large: "
        "the only version is 1"
    ]
    assert not any("unable to parse" in line or "Input should" in line for line in found)


def test_an_unreadable_value_is_reported_once(write: WriteFile) -> None:
    text = "version: 1\ninstances:\n  pgm-bp1aaaa0000001:\n    encryption: {key: !!int abc}\n"
    assert errors_of(write("a.yaml", text)) == [
        "a.yaml:4:23: `abc` is tagged !!int but is not a whole number: remove the tag or fix "
        "the value"
    ]


def test_text_quoted_in_a_message_stays_on_one_line_and_short(write: WriteFile) -> None:
    long = "x" * 500
    text = (
        f'version: 1\ndefaults: {{region: "cn-\\nhangzhou"}}\nkms_keys:\n  k: {{alias: {long}}}\n'
    )
    found = errors_of(write("a.yaml", text))
    assert len(found) == 2
    assert found[0].startswith("a.yaml:2:20: `cn-\\nhangzhou` is not valid here")
    assert found[1].startswith(f"a.yaml:4:14: `{'x' * 60}...` is not valid here")


@pytest.mark.parametrize(
    "line, message",
    [
        (
            "restart: yes",
            "`defaults.restart`: must be `immediate` or `maintenance-window`, not `yes`",
        ),
        (
            "account: 1234567890123456",
            "`defaults.account`: must be text, but `1234567890123456` is read by YAML 1.1 as the "
            'number 1234567890123456: quote it ("1234567890123456")',
        ),
    ],
)
def test_quote_it_is_said_only_where_quoting_gives_the_text_wanted(
    write: WriteFile, line: str, message: str
) -> None:
    found = errors_of(write("a.yaml", f"version: 1\ndefaults:\n  {line}\n"))
    assert [f.split(": ", 1)[1] for f in found] == [message]  # restart: "yes" is wrong too


def test_a_yaml11_word_where_a_word_of_a_list_is_expected_is_shown_as_written(
    write: WriteFile,
) -> None:
    found = errors_of(write("a.yaml", "version: 1\nkms_keys:\n  k: {alias: alias/k, state: off}\n"))
    assert found == [
        "a.yaml:3:30: `kms_keys.k.state`: must be `enabled`, `disabled` or `pending-deletion`, "
        "not `off`"
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("version: yes\n", "a.yaml:1:10: `version`: must be the number 1, not a boolean"),
        (
            "version: 1\nkms_keys:\n  k: {alias: alias/k, description: " + "x" * 8193 + "}\n",
            "a.yaml:3:36: `kms_keys.k.description`: must be at most 8192 characters long",
        ),
        (
            'version: 1\nkms_keys:\n  k: {alias: alias/k, tags: {"": x}}\n',
            "a.yaml:3:30: `kms_keys.k.tags.`: must not be empty",
        ),
        (
            "version: 1\nram: {policy: my_policy}\n",
            "a.yaml:2:15: `my_policy` is not valid here: it must match ^[A-Za-z0-9-]{1,128}$",
        ),
    ],
)
def test_no_message_keeps_pydantics_wording(write: WriteFile, text: str, message: str) -> None:
    assert errors_of(write("a.yaml", text)) == [message]
