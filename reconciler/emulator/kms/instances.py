"""KMS instances (KMS 3.0) and the region's default key: state, rules and actions.

A KMS instance is a purchased, regional container of keys (docs/real-cloud.md, "KMS instances
and default keys"). What the emulator keeps per instance is what the SDK's
GetKmsInstanceResponseBody names and the tool reads: `InstanceId`, `Status` (Uninitialized |
Connecting | Connected | Disconnected | Error), `StartDate`, `EndDate`, `KeyNum` (the most keys
it holds), `ChargeType` (PREPAY | POSTPAY), plus the fields a console shows (`Spec`,
`SecretNum`, `ProductVersion`...). Actions: ListKmsInstances, GetKmsInstance,
GetKmsInstanceQuotaInfos (`ResourceType` key | secret; `UsedQuantity` of keys counts every key
of the instance KMS still holds, PendingDeletion included).

CreateKey with `DKMSInstanceId` creates the key in that instance; without it, the region's
*default key* (KMS's "Manage keys": one default customer master key per account per region).
The emulator's choices, where the documents give no answer (docs/emulator.md):

- an unknown instance id: 404 `Forbidden.ResourceNotFound` (GetKmsInstance,
  GetKmsInstanceQuotaInfos and CreateKey);
- CreateKey in an instance whose Status is not Connected: 409 `Rejected.KmsInstanceNotConnected`;
- CreateKey in a full instance (KeyNum keys): 400 `Rejected.LimitExceeded`;
- a second default key in a region: 400 `Rejected.LimitExceeded` (the service key
  alias/acs/rds is not a default key);
- automatic rotation of a default key (CreateKey or UpdateRotationPolicy) while the region's
  default-key rotation is not purchased: 400 `Rejected.UnsupportedOperation` (RDS pages call
  it a paid feature; how the real API refuses is not documented);
- an instance past its EndDate keeps its Status (the cloud's behaviour after expiry is not
  documented; the tool warns from EndDate itself).

Admin (JSON, no signature):

    POST /_emulator/kms/instances {"region": "cn-hangzhou", "key_num": 1000,
                                   "end_date": "2027-01-01T00:00:00Z", "status": "Connected",
                                   "instance_id": "kst-..."}   -> {"KmsInstanceId": "kst-..."}
        status and instance_id are optional; an existing instance_id is updated (status,
        end_date, key_num given).
    POST /_emulator/kms/default_key_rotation {"region": "cn-hangzhou", "purchased": true}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.emulator.admin import AdminError, number, register_admin_route
from reconciler.emulator.clock import iso, parse_iso
from reconciler.emulator.dispatch import RequestContext, stable_token
from reconciler.emulator.errors import ApiError, invalid_parameter
from reconciler.emulator.kms import models as m
from reconciler.emulator.runtime import EmulatorState

INSTANCE_KIND = "kms_instance"
STATUSES = ("Uninitialized", "Connecting", "Connected", "Disconnected", "Error")
CONNECTED = "Connected"
_ROTATION_META = "kms_default_key_rotation:"  # + region -> "1" when purchased
_MAX_KEY_NUM = 100_000


@dataclass
class KmsInstance:
    instance_id: str
    region: str
    status: str
    key_num: int
    start_date: str
    end_date: str
    charge_type: str = "PREPAY"
    secret_num: int = 0
    spec: int = 1000
    product_version: str = "3"

    def to_doc(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> KmsInstance:
        return cls(**{k: v for k, v in doc.items() if k in cls.__dataclass_fields__})

    def arn(self, account: str) -> str:
        return f"acs:kms:{self.region}:{account}:keystore/{self.instance_id}"

    def view(self) -> dict[str, Any]:
        """KmsInstance as GetKmsInstanceResponseBody shapes it."""
        return {
            "InstanceId": self.instance_id,
            "InstanceName": self.instance_id,
            "Status": self.status,
            "CreateTime": self.start_date,
            "StartDate": self.start_date,
            "EndDate": self.end_date,
            "KeyNum": self.key_num,
            "SecretNum": str(self.secret_num),
            "Spec": self.spec,
            "ChargeType": self.charge_type,
            "ProductVersion": self.product_version,
            "ProductType": "kms_ddi_public_cn"
            if self.charge_type == "PREPAY"
            else "kms_ppi_public_cn",
            "SaleStatus": "NORMAL",
            "VpcNum": 1,
            "Log": 0,
            "LogStorage": 0,
        }


def not_found(instance_id: str) -> ApiError:
    return ApiError(
        404,
        "Forbidden.ResourceNotFound",
        f"The specified KMS instance is not found: {instance_id}.",
    )


def find(ctx: RequestContext, instance_id: str, region: str | None = None) -> KmsInstance | None:
    doc = ctx.tx.get(INSTANCE_KIND, region or ctx.region, instance_id)
    return None if doc is None else KmsInstance.from_doc(doc)


def require(ctx: RequestContext, instance_id: str) -> KmsInstance:
    found = find(ctx, instance_id)
    if found is None:
        raise not_found(instance_id)
    return found


def save(ctx: RequestContext, instance: KmsInstance) -> None:
    ctx.tx.put(INSTANCE_KIND, instance.region, instance.instance_id, instance.to_doc())


def keys_in(ctx: RequestContext, instance: KmsInstance) -> int:
    """Keys of the instance KMS still holds (PendingDeletion included: chosen)."""
    return sum(
        1 for k in m.live_keys(ctx, instance.region) if k.dkms_instance_id == instance.instance_id
    )


def new_instance_id(ctx: RequestContext, region: str) -> str:
    """`kst-` + region code + 21 characters from a counter (the shape of kst-bjj62f5ba3...)."""
    while True:
        serial = ctx.next_serial(INSTANCE_KIND)
        found = "kst-" + m._region_code(region) + stable_token(serial, 21, ctx.account_id)
        if ctx.tx.get(INSTANCE_KIND, region, found) is None:
            return found


def rotation_purchased(ctx: RequestContext, region: str) -> bool:
    return ctx.tx.get_meta(_ROTATION_META + region, "0") == "1"


def set_rotation_purchased(ctx: RequestContext, region: str, purchased: bool) -> None:
    ctx.tx.set_meta(_ROTATION_META + region, "1" if purchased else "0")


def refuse_default_key_rotation() -> ApiError:
    return ApiError(
        400,
        "Rejected.UnsupportedOperation",
        "Automatic rotation of the default key is a paid feature that is not purchased.",
    )


def admit_new_key(ctx: RequestContext, record: m.KeyRecord) -> None:
    """Raise what CreateKey answers when the key cannot be made where it is asked for."""
    if record.dkms_instance_id:
        instance = require(ctx, record.dkms_instance_id)
        if instance.status != CONNECTED:
            raise ApiError(
                409,
                "Rejected.KmsInstanceNotConnected",
                f"The KMS instance {instance.instance_id} is {instance.status}, not Connected.",
            )
        if keys_in(ctx, instance) >= instance.key_num:
            raise ApiError(
                400,
                "Rejected.LimitExceeded",
                f"The KMS instance {instance.instance_id} holds its {instance.key_num} keys.",
            )
        return
    defaults = [k for k in m.live_keys(ctx, record.region) if is_default_key(k)]
    if defaults:
        raise ApiError(
            400,
            "Rejected.LimitExceeded",
            f"The region {record.region} already has its default key {defaults[0].key_id}: "
            "create further keys in a KMS instance (DKMSInstanceId).",
        )
    if record.rotation_enabled and not rotation_purchased(ctx, record.region):
        raise refuse_default_key_rotation()


def is_default_key(record: m.KeyRecord) -> bool:
    return not record.is_service_key and not record.dkms_instance_id


def check_rotation(ctx: RequestContext, record: m.KeyRecord, enable: bool) -> None:
    """UpdateRotationPolicy turning rotation on for a default key needs the purchase."""
    if enable and is_default_key(record) and not rotation_purchased(ctx, record.region):
        raise refuse_default_key_rotation()


# --- actions ----------------------------------------------------------------------------------


def list_kms_instances(ctx: RequestContext) -> dict[str, Any]:
    number_ = ctx.int_param("PageNumber", 1, lo=1) or 1
    size = ctx.int_param("PageSize", 20, lo=1, hi=100) or 20
    found = sorted(
        (KmsInstance.from_doc(d) for d in ctx.tx.list(INSTANCE_KIND, ctx.region)),
        key=lambda i: i.instance_id,
    )
    page = found[(number_ - 1) * size : number_ * size]
    items = [
        {"KmsInstanceId": i.instance_id, "KmsInstanceArn": i.arn(ctx.account_id)} for i in page
    ]
    return {
        "KmsInstances": {"KmsInstance": items},
        "PageNumber": number_,
        "PageSize": size,
        "TotalCount": len(found),
    }


def get_kms_instance(ctx: RequestContext) -> dict[str, Any]:
    return {"KmsInstance": require(ctx, ctx.required("KmsInstanceId")).view()}


def get_kms_instance_quota_infos(ctx: RequestContext) -> dict[str, Any]:
    instance = require(ctx, ctx.required("KmsInstanceId"))
    wanted = ctx.str_param("ResourceType")
    if wanted is not None and wanted not in ("key", "secret", "qps", "vpc"):
        raise invalid_parameter("ResourceType", f"{wanted!r} is not key, secret, qps or vpc")
    quotas = [
        {
            "ResourceType": "key",
            "ResourceQuota": instance.key_num,
            "UsedQuantity": keys_in(ctx, instance),
        },
        {"ResourceType": "secret", "ResourceQuota": instance.secret_num, "UsedQuantity": 0},
    ]
    return {
        "KmsInstanceId": instance.instance_id,
        "KmsInstanceQuotaInfos": [q for q in quotas if wanted in (None, q["ResourceType"])],
    }


ACTIONS = {
    "ListKmsInstances": list_kms_instances,
    "GetKmsInstance": get_kms_instance,
    "GetKmsInstanceQuotaInfos": get_kms_instance_quota_infos,
}
REQUIRED = {"GetKmsInstance": ("KmsInstanceId",), "GetKmsInstanceQuotaInfos": ("KmsInstanceId",)}
READS = frozenset(ACTIONS)


# --- seeds and admin --------------------------------------------------------------------------


def put_instance(
    ctx: RequestContext,
    region: str,
    *,
    key_num: int,
    end_date: str,
    status: str = CONNECTED,
    instance_id: str | None = None,
) -> KmsInstance:
    """Create (or, for a known instance_id, update) an instance; ValueError on bad input."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if not 0 <= key_num <= _MAX_KEY_NUM:
        raise ValueError(f"key_num must be within 0..{_MAX_KEY_NUM}")
    ends = _date(end_date)
    if instance_id is not None and not instance_id.startswith("kst-"):
        raise ValueError("instance_id must start with kst-")
    existing = find(ctx, instance_id, region) if instance_id else None
    instance = existing or KmsInstance(
        instance_id=instance_id or new_instance_id(ctx, region),
        region=region,
        status=status,
        key_num=key_num,
        start_date=iso(min(ctx.now(), ends - timedelta(seconds=1))),
        end_date=iso(ends),
    )
    instance.status, instance.key_num, instance.end_date = status, key_num, iso(ends)
    save(ctx, instance)
    return instance


def _date(text: Any) -> datetime:
    if isinstance(text, datetime):  # YAML reads an unquoted timestamp as a datetime
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    try:
        return parse_iso(str(text))
    except ValueError:
        raise ValueError("end_date must be a time such as 2027-01-01T00:00:00Z") from None


def _admin_context(state: EmulatorState, tx: Any, region: str) -> RequestContext:
    return RequestContext("kms", "Admin", {"RegionId": region}, tx, state, "admin")


def _region(body: dict[str, Any]) -> str:
    from reconciler.emulator.regions import REGIONS

    region = body.get("region")
    if region not in REGIONS:
        raise AdminError(400, f"region must be one of {', '.join(REGIONS)}")
    return str(region)


def _post_instance(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    region = _region(body)
    key_num = int(number(body, "key_num", 0, _MAX_KEY_NUM, integer=True))
    instance_id = body.get("instance_id")
    with state.store.transaction() as tx:
        instance = put_instance(
            _admin_context(state, tx, region),
            region,
            key_num=key_num,
            end_date=body.get("end_date", ""),
            status=str(body.get("status", CONNECTED)),
            instance_id=None if instance_id is None else str(instance_id),
        )
        return {"KmsInstanceId": instance.instance_id}


def _post_rotation(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    region = _region(body)
    purchased = body.get("purchased")
    if not isinstance(purchased, bool):
        raise AdminError(400, "purchased must be true or false")
    with state.store.transaction() as tx:
        set_rotation_purchased(_admin_context(state, tx, region), region, purchased)
    return {"region": region, "purchased": purchased}


register_admin_route("POST", "kms/instances", _post_instance)
register_admin_route("POST", "kms/default_key_rotation", _post_rotation)
