"""Drift reports made by hand for the renderer tests: every kind and severity, a location with
a line, items the spec does not place, an ignored item, text that needs escaping."""

from __future__ import annotations

from reconciler.drift.model import (
    Coverage,
    DriftItem,
    DriftReport,
    IgnoredItem,
    Kind,
    RegionCoverage,
    Severity,
    Summary,
    UnencryptedInstance,
)
from reconciler.plan.model import FieldChange

POLICY = "ram_policy.AliyunRDSInstanceEncryptionRolePolicy"


def sample_report() -> DriftReport:
    items = [
        DriftItem(
            address=POLICY,
            kind=Kind.CHANGED,
            severity=Severity.CRITICAL,
            field_changes=[
                FieldChange(
                    path="document.Statement[0].Action", before="kms:*", after=["kms:List*"]
                )
            ],
            message='the policy is widened: it allows kms:ScheduleKeyDeletion <&> "quoted"',
        ),
        DriftItem(
            address="rds_encryption.pgm-bp1ded0000000001",
            kind=Kind.AT_RISK,
            severity=Severity.CRITICAL,
            message="its key is Disabled",
            region="cn-hangzhou",
            location="specs/hangzhou.yaml:4:3",
        ),
        DriftItem(
            address="kms_key.rds-prod",
            kind=Kind.CHANGED,
            severity=Severity.MEDIUM,
            field_changes=[FieldChange(path="rotation.enabled", before=False, after=True)],
            message="rotation drift",
            region="cn-hangzhou",
            location="specs/keys.yaml:5:3",
        ),
        DriftItem(
            address="rds_encryption.pgm-uf6ded0000000001",
            kind=Kind.MISSING,
            severity=Severity.HIGH,
            message="no such instance",
            region="cn-shanghai",
            location="specs/shanghai.yaml:5:3",
        ),
        DriftItem(
            address="rds_encryption.pgm-bp1gp00000000003",
            kind=Kind.UNMANAGED,
            severity=Severity.INFO,
            message="not in the spec (not encrypted)",
            region="cn-hangzhou",
        ),
    ]
    hz = RegionCoverage(instances=6, encrypted=3, service_key=2, cmk=1, not_encrypted=3, managed=5)
    sh = RegionCoverage(instances=1, encrypted=0, not_encrypted=1, managed=1)
    return DriftReport(
        summary=Summary(
            items=5,
            critical=2,
            high=1,
            medium=1,
            info=1,
            changed=2,
            missing=1,
            unmanaged=1,
            at_risk=1,
            ignored=1,
            drift=True,
        ),
        items=sorted(items, key=lambda i: (i.severity.rank, i.address)),
        coverage=Coverage(
            instances=7,
            encrypted=3,
            service_key=2,
            cmk=1,
            not_encrypted=4,
            managed=6,
            regions={"cn-hangzhou": hz, "cn-shanghai": sh},
            unencrypted=[
                UnencryptedInstance(
                    instance_id="pgm-bp1gp00000000003", region="cn-hangzhou", managed=False
                ),
                UnencryptedInstance(
                    instance_id="pgm-uf6ded0000000001", region="cn-shanghai", managed=True
                ),
            ],
        ),
        checked=sorted(
            [
                POLICY,
                "kms_key.rds-prod",
                "kms_key.rds-legacy",
                "rds_encryption.pgm-bp1ded0000000001",
                "rds_encryption.pgm-bp1ded0000000002",
                "rds_encryption.pgm-uf6ded0000000001",
            ]
        ),
        ignored=[
            IgnoredItem(
                address="kms_key.rds-legacy",
                kind=Kind.CHANGED,
                severity=Severity.LOW,
                glob="kms_key.rds-l*",
            )
        ],
        spec_files=[
            "specs/00-defaults.yaml",
            "specs/hangzhou.yaml",
            "specs/keys.yaml",
            "specs/shanghai.yaml",
        ],
    )
