"""What RDS reads from KMS and RAM: the only module of rds/ that touches their models.

All reads run in the current request's transaction and see the emulated clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.emulator import kms_activation
from reconciler.emulator.clock import iso
from reconciler.emulator.errors import ApiError
from reconciler.emulator.kms import models as kms
from reconciler.emulator.policy_eval import (
    MalformedPolicyError,
    is_allowed,
    kms_key_context,
    trust_allows_service,
)
from reconciler.emulator.rds import rules

if TYPE_CHECKING:
    from reconciler.emulator.rds.models import RdsWorld


def find_key(
    world: RdsWorld, region: str, key_ref: str, *, by_alias: bool = False
) -> kms.KeyRecord | None:
    """A key of ``region`` by its id (RDS takes key ids; seeds may also name an alias)."""
    if not by_alias and (key_ref.startswith("alias/") or key_ref.startswith("acs:")):
        return None
    return kms.find_key(world.ctx, key_ref, region)


def foreign_key_error(world: RdsWorld, region: str, key_ref: str) -> ApiError | None:
    """The refusal of a key of ANOTHER account (an id another account holds in ``region``, or
    a KMS ARN naming another account): RDS encrypts an instance only with a key of the
    instance's own account. 400 `KmsApiError` as for a key that is not found (the instance's
    KMS does not know it); the message naming the other account is **chosen**
    (docs/real-cloud.md, Accounts)."""
    from reconciler.emulator import accounts

    own = world.account_id
    parts = key_ref.split(":", 4)
    owner = parts[3] if key_ref.startswith("acs:kms:") and len(parts) == 5 else None
    if owner is None:
        tx, default = world.ctx.tx, world.ctx.state.settings.account_id
        for account in accounts.declared_accounts(tx, default):
            scoped = tx.in_account(accounts.scope_of(default, account))
            if account != own and scoped.get(kms.KEY_KIND, region, key_ref) is not None:
                owner = account
    if owner is None or owner == own:
        return None
    return ApiError(
        400,
        "KmsApiError",
        f"The specified key {key_ref} is not found in KMS: it belongs to another account "
        f"({owner}); RDS uses only keys of the instance's own account ({own}).",
    )


def lasts_until_a_write(key: kms.KeyRecord) -> bool:
    """Whether the key stays as it is until the store's next write: a key that waits for
    deletion leaves KMS when the emulated clock passes its DeleteDate, without a write."""
    return key.state != kms.PENDING_DELETION


def deleted_key(world: RdsWorld, region: str, key_id: str) -> kms.KeyRecord | None:
    """A key deleted from KMS, as it was (RDS still names the key an instance used)."""
    return kms.deleted_key(world.ctx, key_id, region)


def require_kms_activated(world: RdsWorld) -> None:
    """Encrypting a disk needs KMS: 403 Forbidden.KmsServiceNotEnabled when the account has not
    activated it, 400 KmsApiError while it is InDebt or Suspended (see kms_activation)."""
    kms_activation.require_serving(world.ctx.tx)


def service_key_id(world: RdsWorld, region: str) -> str:
    return kms.service_key_id(world.ctx, region)


def aliases_of(world: RdsWorld, region: str, key_id: str) -> list[str]:
    return sorted(kms.aliases_of(world.ctx, key_id, region))


def _role_trust_document(world: RdsWorld, role_name: str) -> str | None:
    from reconciler.emulator.ram import models as ram

    role = ram.get_role(world.ctx, role_name)
    return None if role is None else role["AssumeRolePolicyDocument"]


def role_trusts_rds(world: RdsWorld, role_name: str) -> bool:
    trust = _role_trust_document(world, role_name)
    return trust is not None and trust_allows_service(trust, rules.RDS_SERVICE)


def check_role_can_use_key(world: RdsWorld, role_name: str, key: rules.KeyLike) -> None:
    """The role exists, trusts rds.aliyuncs.com, and its attached policies really allow
    kms:Encrypt, kms:Decrypt and kms:GenerateDataKey on the key; else ByokNotAuthorizedToRds.

    The request context RDS sends: ``kms:tag/<key>`` for each key tag, ``acs:CurrentTime``
    (emulated) and ``acs:SecureTransport`` true (a service-to-service call).
    """
    from reconciler.emulator.ram import models as ram

    trust = _role_trust_document(world, role_name)
    if trust is None:
        raise rules.byok_not_authorized(f"the role {role_name} does not exist")
    if not trust_allows_service(trust, rules.RDS_SERVICE):
        raise rules.byok_not_authorized(f"the role {role_name} does not trust {rules.RDS_SERVICE}")
    documents = ram.attached_policy_documents(world.ctx, role_name)
    context = kms_key_context(
        key.tags, {"acs:CurrentTime": iso(world.ctx.now()), "acs:SecureTransport": "true"}
    )
    for action in rules.KMS_ACTIONS:
        try:
            allowed = is_allowed(documents, action, key.arn, context)
        except MalformedPolicyError:
            allowed = False
        if not allowed:
            raise rules.byok_not_authorized(
                f"the policies of role {role_name} do not allow {action} on {key.arn}"
            )
