"""The compliance controls a drift finding is evidence for (docs/drift-format.md, "Controls").

Only ids and titles checked against their publishers' pages are listed (the sources are in
docs/drift-format.md); what could not be checked is left out rather than guessed. The kinds
say which apply to an address (`ResourceKind.controls`).
"""

from __future__ import annotations

from reconciler.drift.model import Control

CIS = "CIS Alibaba Cloud Foundations Benchmark v1.0.0"
CLOUD_CONFIG = "Alibaba Cloud Config"
INFRAGUARD = "infraguard"

CIS_RDS_TDE = Control(
    framework=CIS,
    id="6.5",
    title="Ensure that 'TDE' is set to 'Enabled' on for applicable database instance",
)
CIS_RDS_TDE_BYOK = Control(
    framework=CIS, id="6.6", title="Ensure RDS instance TDE protector is encrypted with BYOK"
)
CONFIG_RDS_TDE = Control(
    framework=CLOUD_CONFIG,
    id="rds-instance-enabled-tde",
    title="Checks whether TDE encryption is enabled for an ApsaraDB RDS instance",
)
CONFIG_KMS_ROTATION = Control(
    framework=CLOUD_CONFIG,
    id="kms-key-rotation-enabled",
    title="Automatic rotation is set for KMS master keys",
)
INFRAGUARD_RDS_DISK = Control(
    framework=INFRAGUARD,
    id="rule:aliyun:rds-instance-enabled-disk-encryption",
    title="RDS Instance Disk Encryption Enabled",
)
INFRAGUARD_RDS_TDE_OR_DISK = Control(
    framework=INFRAGUARD,
    id="rule:aliyun:rds-instance-enabled-tde-disk-encryption",
    title="RDS Instance Enabled TDE or Disk Encryption",
)
INFRAGUARD_RDS_TDE = Control(
    framework=INFRAGUARD,
    id="rule:aliyun:security-rds-instance-tde-enabled",
    title="RDS instance must enable TDE",
)
INFRAGUARD_KMS_ROTATION = Control(
    framework=INFRAGUARD,
    id="rule:aliyun:kms-key-rotation-enabled",
    title="KMS key automatic rotation enabled",
)

DISK_ENCRYPTION = (INFRAGUARD_RDS_DISK, INFRAGUARD_RDS_TDE_OR_DISK)
"""An instance's disk encryption (rds_encryption.<id>)."""
TDE = (
    CIS_RDS_TDE,
    CIS_RDS_TDE_BYOK,
    CONFIG_RDS_TDE,
    INFRAGUARD_RDS_TDE,
    INFRAGUARD_RDS_TDE_OR_DISK,
)
"""An instance's TDE (rds_tde.<id>)."""
KEY_ROTATION = (CONFIG_KMS_ROTATION, INFRAGUARD_KMS_ROTATION)
"""A key's automatic rotation (kms_key.<name> where `rotation` differs)."""
