"""The writes of the kind `kms_key` by `Op`. CreateKey and CreateAlias carry no ClientToken:
a lost CreateKey answer is looked for as the alias-less key carrying the request's tags (as the
planner adopts it), a lost CreateAlias answer as the alias pointing at the key. Imports only
cloud, core and plan.model (apply imports it)."""

from __future__ import annotations

import json

from reconciler.cloud import kms
from reconciler.cloud.clients import CloudClients
from reconciler.core.ops import Op
from reconciler.errors import CloudCallError
from reconciler.kinds.kms_key.body import KeyAfter
from reconciler.kinds.kms_key.write_guards import key_not_in_use, kms_instance_ready
from reconciler.kinds.write_rule import Params, ReadBack, ReadBackFailed, WriteRule, read_back_by
from reconciler.plan.model import Change


def find_created_key(
    clients: CloudClients, region: str, params: Params, change: Change
) -> ReadBack:
    """A lost CreateKey answer: the key it made (if any) has the request's tags and
    description and no alias. Found, it is used as the answer (the next plan would adopt it
    the same way); not found, the write did not take effect."""
    alias = KeyAfter.of(change).alias
    wanted = {t["TagKey"]: t["TagValue"] for t in json.loads(params.get("Tags") or "[]")}
    try:
        candidates = [
            key_id
            for key_id, tags in kms.aliasless_keys(clients, region).items()
            if {k: v for k, v in tags.items() if k in wanted or not k.startswith("acs:")} == wanted
        ]
        key = kms.adopt_key(clients, region, candidates) if candidates else None
    except CloudCallError as read_error:
        raise ReadBackFailed(
            f". A key may have been created in {region} without its alias {alias}; "
            f"looking for it failed too: {read_error}. The next plan finds such a key by its "
            "tags and adopts it"
        ) from read_error
    if key is None or key.description != (params.get("Description") or ""):
        return ReadBack(
            False, "read back: no key without an alias carries its tags, so it did not take effect"
        )
    return ReadBack(
        True,
        f"found {key.key_id}",
        f"read back: it created {key.key_id} (no alias yet)",
        {"key_id": key.key_id, "arn": key.arn},
    )


def _alias_created(clients: CloudClients, region: str, params: Params) -> bool:
    return kms.alias_target(clients, region, params["AliasName"]) == params["KeyId"]


WRITES: dict[Op, WriteRule] = {
    Op.KMS_CREATE_KEY: WriteRule(
        kms.create_key,
        idempotent=False,
        produces=("key_id", "arn"),
        read_back=find_created_key,
        guard=kms_instance_ready,
    ),
    Op.KMS_CANCEL_KEY_DELETION: WriteRule(kms.cancel_key_deletion, idempotent=True),
    Op.KMS_ENABLE_KEY: WriteRule(kms.enable_key, idempotent=True),
    Op.KMS_UPDATE_KEY_DESCRIPTION: WriteRule(kms.update_key_description, idempotent=True),
    Op.KMS_UPDATE_ROTATION_POLICY: WriteRule(kms.update_rotation_policy, idempotent=True),
    Op.KMS_TAG_RESOURCE: WriteRule(kms.tag_resource, idempotent=True),
    Op.KMS_UNTAG_RESOURCE: WriteRule(kms.untag_resource, idempotent=True),
    Op.KMS_CREATE_ALIAS: WriteRule(
        kms.create_alias, idempotent=False, read_back=read_back_by(_alias_created)
    ),
    Op.KMS_SET_DELETION_PROTECTION: WriteRule(kms.set_deletion_protection, idempotent=True),
    Op.KMS_DISABLE_KEY: WriteRule(kms.disable_key, idempotent=True, guard=key_not_in_use),
    Op.KMS_SCHEDULE_KEY_DELETION: WriteRule(
        kms.schedule_key_deletion, idempotent=True, guard=key_not_in_use
    ),
}
