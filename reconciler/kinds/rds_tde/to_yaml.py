"""`reconciler import`'s `tde:` of each instance whose TDE is on (pure): `{key: service}` on
RDS's own key (Aliyun_Generate_Key), else the KMS key as a reference the kind `kms_key` names
(its alias's name when the import names that key, else its id). Written in the instance's
entry of the `instances` block (drift/importer.py merges blocks of one key), so the imported
spec plans no TDE change. Instances with TDE off get no `tde:` (TDE stays unmanaged there)."""

from __future__ import annotations

from reconciler.core.facts import ObservedTde
from reconciler.drift.yaml_blocks import ImportContext, Placement, Ref, YamlBlock, YamlEntry
from reconciler.kinds.rds_encryption.to_yaml import why_left_out
from reconciler.kinds.rds_tde.drift import SERVICE_MODE
from reconciler.spec.models import SERVICE_KEY

KEY_KIND = "kms_key"
"""The kind a TDE CMK is written as."""


def to_yaml(context: ImportContext) -> YamlBlock:
    block = YamlBlock("instances", Placement.PER_REGION, [])
    for instance in sorted(context.observed.instances.values(), key=lambda i: i.instance_id):
        if why_left_out(context, instance) is not None:
            continue  # the instance is left out, with the reason (kinds/rds_encryption/to_yaml)
        if instance.tde is not None and instance.tde.enabled:
            block.entries.append(
                YamlEntry(
                    instance.instance_id,
                    {"tde": {"key": _key(instance.tde)}},
                    ("TDE is on and cannot be turned off",),
                    instance.region,
                )
            )
    return block


def _key(tde: ObservedTde) -> str | Ref:
    if tde.mode == SERVICE_MODE:
        return SERVICE_KEY
    return Ref(KEY_KIND, str(tde.key_id))
