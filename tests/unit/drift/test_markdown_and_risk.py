"""The Markdown drift comment stays under GitHub's limit; the RAM policy risk is decided by
evaluation, whatever the document's spelling."""

from __future__ import annotations

from reconciler.drift.model import (
    Coverage,
    DriftItem,
    DriftReport,
    Kind,
    Severity,
    Summary,
    UnencryptedInstance,
)
from reconciler.drift.ram_risk import policy_risk
from reconciler.plan.ram_documents import RDS_ENCRYPTION_POLICY_DOCUMENT
from reconciler.render.drift_markdown import render_drift_markdown
from tests.unit.drift.reports import sample_report


def test_the_fixed_document_in_any_spelling_is_not_a_risk() -> None:
    assert not policy_risk(RDS_ENCRYPTION_POLICY_DOCUMENT).critical
    respelled = {
        "Version": 1,
        "Statement": [
            {**s, "Effect": "allow"} for s in reversed(RDS_ENCRYPTION_POLICY_DOCUMENT["Statement"])
        ],
    }
    assert not policy_risk(respelled).critical


def test_a_narrowed_document_is_not_widened() -> None:
    narrowed = {"Version": "1", "Statement": [RDS_ENCRYPTION_POLICY_DOCUMENT["Statement"][1]]}
    assert not policy_risk(narrowed).critical


def test_widened_and_tag_condition_gone_are_told_apart() -> None:
    star = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    risk = policy_risk(star)
    assert risk.tag_condition_gone and "ecs:DeleteInstance" in risk.widened
    no_condition = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "acs:kms:*:*:*",
            }
        ],
    }
    risk = policy_risk(no_condition)
    assert risk.tag_condition_gone and risk.widened == ()


def test_an_undecidable_statement_counts_as_allowing() -> None:
    odd = {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "NotResource": "acs:kms:*:*:key/none"}
        ],
    }
    assert policy_risk(odd).critical


def test_markdown_of_many_items_stays_under_the_limit() -> None:
    items = [
        DriftItem(
            address=f"rds_encryption.pgm-{i:012d}",
            kind=Kind.UNMANAGED,
            severity=Severity.INFO,
            message="not in the spec (not encrypted) " + "x" * 80,
            region="cn-hangzhou",
        )
        for i in range(3000)
    ]
    unencrypted = [
        UnencryptedInstance(instance_id=f"pgm-{i:012d}", region="cn-hangzhou", managed=False)
        for i in range(3000)
    ]
    report = DriftReport(
        summary=Summary(items=3000, info=3000, unmanaged=3000),
        items=items,
        coverage=Coverage(instances=3000, not_encrypted=3000, unencrypted=unencrypted),
    )
    text = render_drift_markdown(report)
    assert len(text) <= 65_000
    assert "more item(s) left out" in text
    assert "and 2700 more" in text


def test_markdown_of_the_sample() -> None:
    text = render_drift_markdown(sample_report())
    assert text.startswith("### Reconciler drift report\n")
    assert ":x: **Drift: 4 item(s) out of sync** (1 ignored by `defaults.ignore`)" in text
    assert "| critical | high | medium | low | info |" in text
    assert "| cn-shanghai | 1 | 0 | 0 | 1 | 1 |" in text


def test_the_ignore_list_is_not_part_of_the_spec_digest() -> None:
    """plan and apply do not read defaults.ignore, so editing it leaves a saved plan valid."""
    from reconciler.plan.digest import spec_digest
    from reconciler.spec.models import Spec

    plain = Spec.model_validate({"instances": {"pgm-aaaa1111": {"encryption": "disabled"}}})
    ignoring = Spec.model_validate(
        {
            "defaults": {"ignore": ["kms_key.*"]},
            "instances": {"pgm-aaaa1111": {"encryption": "disabled"}},
        }
    )
    assert ignoring.defaults.ignore == ("kms_key.*",)
    assert spec_digest(plain) == spec_digest(ignoring)


def test_an_in_sync_report_does_not_call_its_unmanaged_instances_drift() -> None:
    """Issue 20: the text headline of a report with only unmanaged (info) items read
    "Drift: 3 item(s)" while the exit code said in sync."""
    from reconciler.render.drift_text import summary_line

    in_sync = DriftReport(summary=Summary(items=3, medium=1, info=2, unmanaged=3, drift=False))
    assert summary_line(in_sync) == (
        "In sync: no drift; 3 unmanaged instance(s) outside the spec (1 medium, 2 info); "
        "0 ignored by defaults.ignore"
    )
    clean = DriftReport(summary=Summary())
    assert summary_line(clean) == "In sync: no drift; 0 ignored by defaults.ignore"
    drifted = DriftReport(summary=Summary(items=2, high=1, info=1, unmanaged=1, drift=True))
    assert summary_line(drifted) == (
        "Drift: 2 item(s) (1 high, 1 info); 0 ignored by defaults.ignore"
    )
