"""Can this instance take this encryption change at all? (README, "Refusals";
docs/real-cloud.md, RDS: disk encryption rules). Each check returns (code, message) with what
to do next, or None."""

from __future__ import annotations

from reconciler.core.facts import DEDICATED, ObservedInstance, ObservedState
from reconciler.plan.actions import RefusalCode

SERVERLESS_CATEGORIES = frozenset({"serverless_basic", "serverless_standard", "serverless_ha"})
SUPPORTED_CATEGORIES = frozenset({"basic", "highavailability", "cluster"})
ESSD_STORAGE_TYPES = frozenset({"cloud_essd", "cloud_essd2", "cloud_essd3", "general_essd"})

Finding = tuple[RefusalCode, str]


def check_engine(instance: ObservedInstance) -> Finding | None:
    if instance.engine.lower() == "postgresql":
        return None
    return (
        RefusalCode.ENCRYPTION_UNSUPPORTED_ENGINE,
        f"{instance.instance_id} runs {instance.engine}; this tool manages disk encryption "
        "of PostgreSQL instances only. Remove it from the spec",
    )


def check_supports_encryption(instance: ObservedInstance) -> list[Finding]:
    """Serverless, edition and storage: the conditions for cloud-disk encryption at all."""
    found: list[Finding] = []
    category = instance.category
    if category.lower() in SERVERLESS_CATEGORIES:
        found.append(
            (
                RefusalCode.ENCRYPTION_UNSUPPORTED_SERVERLESS,
                f"{instance.instance_id} is serverless ({category}); RDS offers no disk "
                "encryption for serverless instances. Remove it from the spec (or set "
                "encryption: disabled), or migrate it to a Basic or High-availability "
                "instance first",
            )
        )
    elif category.lower() not in SUPPORTED_CATEGORIES:
        found.append(
            (
                RefusalCode.ENCRYPTION_UNSUPPORTED_EDITION,
                f"{instance.instance_id} is of edition {category}; disk encryption needs "
                "Basic, HighAvailability or cluster. Change the edition first, or set "
                "encryption: disabled",
            )
        )
    if instance.storage_type.lower() not in ESSD_STORAGE_TYPES:
        found.append(
            (
                RefusalCode.ENCRYPTION_UNSUPPORTED_STORAGE,
                f"{instance.instance_id} uses {instance.storage_type} storage; disk "
                "encryption needs ESSD or Premium ESSD (cloud_essd, cloud_essd2, "
                "cloud_essd3, general_essd). Upgrade the storage type first",
            )
        )
    return found


def check_cmk_class(instance: ObservedInstance, field: str = "encryption") -> Finding | None:
    """An allow-list: a CMK only on a dedicated class (type `d`). General-purpose (`x`),
    shared (`s`) and a class whose type could not be learnt are refused."""
    if instance.class_type == DEDICATED:
        return None
    kinds = {"x": "general-purpose", "s": "shared"}
    kind = kinds.get(instance.class_type or "", "of an unknown class type")
    return (
        RefusalCode.CMK_REQUIRES_DEDICATED_INSTANCE,
        f"{instance.instance_id} is {kind} (class {instance.class_code}), and RDS accepts a "
        f"customer master key only on dedicated classes. Set {field}: {{key: service}}, or "
        "change it to a dedicated class (e.g. pg.x4.large.2c) first",
    )


def check_kms(observed: ObservedState, needs: str, taker: str) -> Finding | None:
    """KMS must be activated and serving for `needs` (disk encryption, TDE) to take a key;
    `taker` names what cannot take one while KMS stops providing services (`no disk`)."""
    if not observed.kms_activated:
        return (
            RefusalCode.KMS_NOT_ACTIVATED,
            f"KMS is not activated in this account, and {needs} needs it. "
            "Activate KMS (console: Key Management Service) and plan again",
        )
    if not observed.kms_serving:
        return (
            RefusalCode.KMS_IN_DEBT,
            f"KMS's account status is {observed.kms_status}: KMS stops providing "
            f"services, so {taker} can take a key now. Settle the account (top up the "
            "overdue KMS instance) and plan again",
        )
    return None
