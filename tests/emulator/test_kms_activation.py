"""An account where KMS is not activated, through the real SDK clients.

Set by the admin API (`POST /_emulator/kms {"activated": false}`) or a seed
(`kms: {activated: false}`); kept in the store, so it survives a restart."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as km

from reconciler.emulator.runtime import Settings
from reconciler.emulator.seeds import SeedError, apply_seed
from reconciler.emulator.server import Emulator
from reconciler.emulator.store import Store
from tests.emulator.conftest import AdminClient, sdk_client
from tests.emulator.rds_fixtures import (  # noqa: F401
    RESTART_SECONDS,
    authorize_rds,
    create_instance,
    create_key,
    emulator,
    running_instance,
    set_key,
    signature,
)

NOT_ENABLED = ("Forbidden.KmsServiceNotEnabled", 403, "The KMS service is not enabled.")


def _status(kms: Any) -> str:
    return str(kms.describe_account_kms_status().body.account_status)


def _not_enabled(api_error: Callable[[Callable[[], Any]], Any], call: Callable[[], Any]) -> None:
    error = api_error(call)
    assert (error.code, error.status_code, error.data["Message"]) == NOT_ENABLED


def test_activated_by_default(kms: Any, admin: AdminClient) -> None:
    assert _status(kms) == "Enabled"
    assert admin.get("kms") == {"activated": True, "status": "Enabled"}


def test_kms_actions_are_refused_when_not_activated(
    kms: Any, admin: AdminClient, api_error: Any
) -> None:
    key_id = create_key(kms)
    assert admin.post("kms", {"activated": False}) == {"activated": False, "status": "NotEnabled"}
    assert _status(kms) == "NotEnabled"
    reads_and_writes: list[Callable[[], Any]] = [
        lambda: kms.describe_key(km.DescribeKeyRequest(key_id="alias/acs/rds")),
        lambda: kms.describe_key(km.DescribeKeyRequest(key_id=key_id)),
        lambda: kms.list_keys(km.ListKeysRequest()),
        lambda: kms.list_aliases(km.ListAliasesRequest()),
        lambda: kms.list_resource_tags(km.ListResourceTagsRequest(key_id=key_id)),
        lambda: kms.list_aliases_by_key_id(km.ListAliasesByKeyIdRequest(key_id=key_id)),
        lambda: kms.create_key(km.CreateKeyRequest()),
        lambda: kms.disable_key(km.DisableKeyRequest(key_id=key_id)),
    ]
    for call in reads_and_writes:
        _not_enabled(api_error, call)
    # DescribeRegions lists where KMS is offered, not the account's keys: still answered.
    regions = kms.describe_regions().body.regions.region
    assert "cn-hangzhou" in {r.region_id for r in regions}
    # Activating again brings the same keys back, untouched.
    admin.post("kms", {"activated": True})
    assert _status(kms) == "Enabled"
    state = kms.describe_key(km.DescribeKeyRequest(key_id=key_id)).body.key_metadata.key_state
    assert state == "Enabled"


def test_rds_cannot_encrypt_without_kms(
    rds: Any, kms: Any, ram: Any, admin: AdminClient, api_error: Any
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    admin.post("kms", {"activated": False})
    _not_enabled(api_error, lambda: set_key(rds, instance_id, "ServiceKey"))
    _not_enabled(api_error, lambda: set_key(rds, instance_id, key_id))
    _not_enabled(api_error, lambda: create_instance(rds, encryption_key="ServiceKey"))
    create_instance(rds)  # an unencrypted instance needs no KMS
    admin.post("kms", {"activated": True})
    set_key(rds, instance_id, "ServiceKey")


def test_the_flag_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "emulator.sqlite")
    settings = Settings(restart_seconds=RESTART_SECONDS)
    with Emulator(state_path=path, settings=settings) as emu:
        AdminClient(emu.base_url).post("kms", {"activated": False})
    with Emulator(state_path=path, settings=settings) as emu:
        assert _status(sdk_client("kms", emu.endpoint)) == "NotEnabled"
        assert AdminClient(emu.base_url).get("kms") == {"activated": False, "status": "NotEnabled"}


def test_a_seed_makes_a_world_without_kms(tmp_path: Path, api_error: Any) -> None:
    """The flag is applied last: the seed's history (a key, an encrypted instance) still builds."""
    path = tmp_path / "no-kms.yaml"
    path.write_text(
        "kms: {activated: false}\n"
        "kms_keys:\n"
        "  - {region: cn-hangzhou, aliases: [alias/old]}\n"
        "rds_instances:\n"
        "  - {id: pgm-bp1nokms00000001, region: cn-hangzhou, class: pg.x4.large.2c,\n"
        "     encryption: service}\n"
    )
    with Emulator(settings=Settings(restart_seconds=RESTART_SECONDS), seed=str(path)) as emu:
        kms = sdk_client("kms", emu.endpoint)
        assert _status(kms) == "NotEnabled"
        _not_enabled(api_error, lambda: kms.describe_key(km.DescribeKeyRequest(key_id="alias/old")))


@pytest.mark.parametrize(
    ("kms_entry", "message"),
    [({"activated": "no"}, "kms.activated"), ({"enabled": False}, "unknown field")],
)
def test_bad_kms_seed_entries_are_refused(tmp_path: Path, kms_entry: dict, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps({"kms": kms_entry}))
    with pytest.raises(SeedError, match=message):
        apply_seed(Store(), str(path))


def test_admin_needs_a_boolean(admin: AdminClient) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        admin.post("kms", {"activated": "false"})
    assert info.value.code == 400
    assert admin.get("kms") == {"activated": True, "status": "Enabled"}
