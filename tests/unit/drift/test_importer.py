"""The importer as a pure function: names, RAM variants, what cannot be expressed."""

from __future__ import annotations

from typing import Any

import yaml

from reconciler.core.facts import (
    ObservedEncryption,
    ObservedInstance,
    ObservedKey,
    ObservedPolicy,
    ObservedRam,
    ObservedRole,
    ObservedState,
)
from reconciler.drift.importer import (
    Imported,
    import_document,
    import_files,
    import_state,
    plan_imported,
    planned_lines,
)
from reconciler.drift.yaml_blocks import YamlEntry
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
)
from reconciler.spec.models import Spec

TAG = {"acs:rds:instance-encryption": "true"}


def _instance(instance_id: str, region: str, key_id: str | None, **extra: Any) -> ObservedInstance:
    fields: dict[str, Any] = {
        "instance_id": instance_id,
        "region": region,
        "engine": "PostgreSQL",
        "category": "HighAvailability",
        "class_code": "pg.x4.large.2c",
        "storage_type": "cloud_essd",
        "status": "Running",
        "managed": False,
        "encryption": ObservedEncryption(enabled=key_id is not None, key_id=key_id),
        **extra,
    }
    return ObservedInstance(**fields)


def _key(key_id: str, region: str, aliases: list[str], **extra: Any) -> ObservedKey:
    return ObservedKey(
        key_id=key_id,
        arn=f"acs:kms:{region}:1234567890123456:key/{key_id}",
        region=region,
        state=extra.pop("state", "Enabled"),
        aliases=aliases,
        tags=extra.pop("tags", TAG),
        **extra,
    )


def _state(instances: list[ObservedInstance], keys: list[ObservedKey], ram=None) -> ObservedState:  # type: ignore[no-untyped-def]
    return ObservedState(
        account_id="1234567890123456",
        instances={i.instance_id: i for i in instances},
        keys_by_id={k.key_id: k for k in keys},
        service_keys={"cn-hangzhou": "key-svchz000", "cn-shanghai": "key-svcsh000"},
        ram=ram,
    )


def _entries(imported: Imported, key: str, region: str | None = None) -> dict[str, YamlEntry]:
    """The entries of the block `key` (of `region`, when given), by name."""
    block = imported.block(key)
    assert block is not None, f"no {key} block"
    return {e.name: e for e in block.entries if region is None or e.region == region}


def _ram_of(imported: Imported) -> dict[str, Any] | None:
    """The `ram` block as written; None when none is."""
    return _entries(imported, "ram")["ram"].data if imported.block("ram") else None


def test_one_alias_in_two_regions_gets_two_names_and_odd_keys_stay_literal() -> None:
    keys = [
        _key("key-hz000001", "cn-hangzhou", ["alias/prod"]),
        _key("key-sh000001", "cn-shanghai", ["alias/prod"]),
        _key("key-imp00001", "cn-hangzhou", ["alias/byok"], state="PendingImport"),
        _key(
            "key-rot00001",
            "cn-hangzhou",
            ["alias/rot"],
            rotation_enabled=True,
            rotation_interval_days=1000,
        ),
    ]
    instances = [
        _instance("pgm-a0000001", "cn-hangzhou", "key-hz000001"),
        _instance("pgm-a0000002", "cn-shanghai", "key-sh000001"),
        _instance("pgm-a0000003", "cn-hangzhou", "key-imp00001"),
        _instance("pgm-a0000004", "cn-hangzhou", "key-rot00001", lock_mode="LockByDiskQuota"),
        _instance("pgm-a0000005", "cn-hangzhou", "key-svchz000"),
    ]
    imported = import_state(_state(instances, keys), ["cn-hangzhou", "cn-shanghai"])
    keys_written = _entries(imported, "kms_keys")
    assert sorted(keys_written) == ["prod", "prod-cn-shanghai", "rot"]
    assert "rotation" not in keys_written["rot"].data  # 1000 days cannot be written: left alone
    hz = _entries(imported, "instances", "cn-hangzhou")
    assert hz["pgm-a0000003"].data == {"encryption": {"key": "key-imp00001"}}
    assert hz["pgm-a0000005"].data == {"encryption": {"key": "service"}}
    assert _entries(imported, "instances", "cn-shanghai")["pgm-a0000002"].data == {
        "region": "cn-shanghai",
        "encryption": {"key": "prod-cn-shanghai"},
    }
    assert "locked" in hz["pgm-a0000004"].notes[0]


def _ram(trust: dict, policy_doc: dict | None, attached: list[tuple[str, str]]) -> ObservedRam:
    policy = (
        ObservedPolicy(
            name="AliyunRDSInstanceEncryptionRolePolicy",
            policy_type="Custom",
            default_version="v1",
            document=policy_doc,
        )
        if policy_doc is not None
        else None
    )
    return ObservedRam(
        role=ObservedRole(
            name="AliyunRDSInstanceEncryptionDefaultRole",
            arn="acs:ram::1:role/x",
            trust_document=trust,
        ),
        policy=policy,
        attached_policies=[
            ObservedPolicy(name=n, policy_type=t, default_version="v1", document={})  # type: ignore[arg-type]
            for n, t in attached
        ],
    )


def test_the_ram_block_follows_what_the_role_has() -> None:
    name = "AliyunRDSInstanceEncryptionRolePolicy"
    fixed = RDS_ENCRYPTION_POLICY_DOCUMENT
    trust = RDS_ENCRYPTION_TRUST_DOCUMENT
    cases = [
        (_ram(trust, fixed, [(name, "Custom")]), {"manage": True}),
        (_ram(trust, None, [(name, "System")]), {"manage": True, "policy_type": "system"}),
        (_ram(trust, fixed, []), {"manage": False}),
        (_ram({"Statement": []}, fixed, [(name, "Custom")]), {"manage": False}),
        (None, None),
    ]
    for ram, expected in cases:
        assert _ram_of(import_state(_state([], [], ram), ["cn-hangzhou"])) == expected


def test_other_policies_on_the_role_are_kept_by_name_so_the_import_plans_no_detach() -> None:
    name = "AliyunRDSInstanceEncryptionRolePolicy"
    fixed, trust = RDS_ENCRYPTION_POLICY_DOCUMENT, RDS_ENCRYPTION_TRUST_DOCUMENT
    attached = [(name, "Custom"), ("AliyunKMSFullAccess", "System"), ("Audit", "Custom")]
    managed = _ram_of(import_state(_state([], [], _ram(trust, fixed, attached)), ["cn-hangzhou"]))
    assert managed == {
        "manage": True,
        "extra_policies": [
            {"name": "Audit", "type": "custom"},
            {"name": "AliyunKMSFullAccess", "type": "system"},
        ],
    }
    # Verify only takes the spec's name of either type as its own: only other names are kept.
    verify = _ram({"Statement": []}, fixed, [(name, "System"), ("Audit", "Custom")])
    assert _ram_of(import_state(_state([], [], verify), ["cn-hangzhou"])) == {
        "manage": False,
        "extra_policies": [{"name": "Audit", "type": "custom"}],
    }


def test_the_document_is_valid_yaml_with_the_schema_line() -> None:
    instances = [
        _instance("pgm-a0000001", "cn-hangzhou", None),
        _instance("pgm-b0000001", "cn-shanghai", None),
        _instance("pgm-c0000001", "cn-hangzhou", None, category="serverless_basic"),
    ]
    text = import_document(_state(instances, []), ["cn-hangzhou", "cn-shanghai"])
    assert text.startswith("# yaml-language-server: $schema=spec.schema.json\n")
    data = yaml.safe_load(text)
    assert sorted(data["instances"]) == ["pgm-a0000001", "pgm-b0000001"]
    assert "# pgm-c0000001 (not encrypted): cannot be managed: is serverless" in text


def test_a_missing_role_is_written_as_managed_ram_when_a_cmk_is_used() -> None:
    """Omitted, ram would still be managed (a CMK is used): the spec says so, with why."""
    keys = [_key("key-hz000001", "cn-hangzhou", ["alias/prod"])]
    with_cmk = import_state(
        _state([_instance("pgm-a0000001", "cn-hangzhou", "key-hz000001")], keys),
        ["cn-hangzhou"],
    )
    assert _ram_of(with_cmk) == {"manage": True}
    (note,) = _entries(with_cmk, "ram")["ram"].notes
    assert "does not exist" in note
    service_only = import_state(
        _state([_instance("pgm-a0000001", "cn-hangzhou", "key-svchz000")], []), ["cn-hangzhou"]
    )
    assert _ram_of(service_only) is None


def _planned(observed: ObservedState) -> list[str]:
    files = import_files(observed, ["cn-hangzhou"])
    spec = Spec.model_validate(
        {k: v for text in files.values() for k, v in (yaml.safe_load(text) or {}).items()}
    )
    return planned_lines(plan_imported(spec, observed))


def test_the_header_says_no_changes_only_when_the_written_spec_plans_none() -> None:
    ram = _ram(
        RDS_ENCRYPTION_TRUST_DOCUMENT,
        RDS_ENCRYPTION_POLICY_DOCUMENT,
        [("AliyunRDSInstanceEncryptionRolePolicy", "Custom")],
    )
    keys = [_key("key-hz000001", "cn-hangzhou", ["alias/prod"])]
    instances = [_instance("pgm-a0000001", "cn-hangzhou", "key-hz000001", class_type="d")]
    assert _planned(_state(instances, keys, ram)) == [
        "`reconciler plan` on these files plans no changes (as import read the cloud)."
    ]
    untagged = [_key("key-hz000001", "cn-hangzhou", ["alias/prod"], tags={})]
    lines = _planned(_state(instances, untagged, ram))
    assert lines[0].startswith("`reconciler plan` on these files plans 1 change(s)")
    assert "- update kms_key.prod" in lines


def test_a_locked_instance_plans_no_change_and_the_header_says_the_warning() -> None:
    keys = [_key("key-hz000001", "cn-hangzhou", ["alias/prod"], state="Disabled")]
    ram = _ram(
        RDS_ENCRYPTION_TRUST_DOCUMENT,
        RDS_ENCRYPTION_POLICY_DOCUMENT,
        [("AliyunRDSInstanceEncryptionRolePolicy", "Custom")],
    )
    locked = _instance(
        "pgm-a0000001", "cn-hangzhou", "key-hz000001", class_type="d", lock_mode="LockByKey"
    )
    lines = _planned(_state([locked], keys, ram))
    assert lines[0].endswith("plans no changes (as import read the cloud).")
    assert "- warns rds_encryption.pgm-a0000001: InstanceAtRisk" in lines


def test_blocks_of_one_key_merge_by_entry_and_say_what_they_could_not_place() -> None:
    """kinds/rds_tde writes an instance's `tde:` into the entry kinds/rds_encryption writes; a
    TDE instance that is not imported (its disk cannot be managed) is said, not written alone."""
    from reconciler.drift.importer import _merged
    from reconciler.drift.yaml_blocks import Placement, YamlBlock, YamlEntry

    disks = YamlBlock(
        "instances", Placement.PER_REGION, [YamlEntry("pgm-a", {"encryption": "disabled"}, (), "r")]
    )
    tde = YamlBlock(
        "instances",
        Placement.PER_REGION,
        [
            YamlEntry("pgm-a", {"tde": {"key": "service"}}, ("TDE is on",), "r"),
            YamlEntry("pgm-b", {"tde": {"key": "service"}}, (), "r"),
        ],
    )
    [merged] = _merged([disks, tde])
    assert merged.entries == [
        YamlEntry(
            "pgm-a", {"encryption": "disabled", "tde": {"key": "service"}}, ("TDE is on",), "r"
        )
    ]
    assert merged.region_comments == {
        "r": ["pgm-b: its tde is not written, as the instance is not imported"]
    }
