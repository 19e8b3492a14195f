"""RDS 2014-08-15 on the wire: one function per action, registered with the dispatcher.

Field names and wrapping follow the installed SDK's models (alibabacloud_rds20140815):
``Items.DBInstance[]``, ``Items.DBInstanceAttribute[]``, plain lists ``EncryptionKeyList`` and
``AssociateDBInstances``. State and rules live in ``models``/``rules``; views in ``views``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.emulator import quota  # noqa: F401  (registers the quota hook and admin route)
from reconciler.emulator.dispatch import RequestContext, register_service
from reconciler.emulator.rds import (
    backups,  # DescribeBackups, CreateBackup
    maintenance,  # UpgradeDBInstanceKernelVersion, RestartDBInstance
    models,
    paging,
    rules,
    task_admin,  # noqa: F401  (registers GET/POST tasks)
    tasks,
    tde,
    views,
)
from reconciler.emulator.rds import tags as tags_api  # TagResources, UntagResources, ...
from reconciler.emulator.rds.models import RdsWorld
from reconciler.emulator.regions import REGIONS
from reconciler.emulator.store import index_field


def _business_params(ctx: RequestContext, names: tuple[str, ...]) -> dict[str, str]:
    """The parameters a ClientToken replay is compared on (signature and nonce excluded)."""
    return {n: ctx.params[n] for n in names if ctx.params.get(n, "") != ""}


_CREATE_REQUIRED = (
    "RegionId",
    "Engine",
    "EngineVersion",
    "DBInstanceClass",
    "DBInstanceStorage",
    "DBInstanceNetType",
    "PayType",
    "SecurityIPList",
)
_CREATE_OPTIONAL = (
    "ZoneId",
    "ZoneIdSlave1",
    "ResourceGroupId",
    "DBInstanceStorageType",
    "Category",
    "InstanceNetworkType",
    "DBInstanceDescription",
    "EncryptionKey",
    "RoleARN",
    "ServerlessConfig",
    "VPCId",
    "VSwitchId",
)


def create_dbinstance(ctx: RequestContext) -> dict[str, Any]:
    """Creating for ``--restart-seconds``, then Running. Defaults (chosen): Category
    HighAvailability, storage cloud_essd, zone ``<region>-h``, VPC, window 18:00Z-22:00Z."""
    for name in _CREATE_REQUIRED:
        ctx.required(name)
    world = RdsWorld(ctx)
    token = ctx.str_param("ClientToken")
    params = _business_params(ctx, _CREATE_REQUIRED + _CREATE_OPTIONAL)
    first = models.replay(world, "CreateDBInstance", token, params)
    if first is not None:
        return first
    storage = ctx.int_param("DBInstanceStorage", lo=5, hi=64000)
    fields: dict[str, Any] = {
        "RegionId": ctx.region,
        "ZoneId": ctx.str_param("ZoneId", f"{ctx.region}-h"),
        "Engine": ctx.required("Engine"),
        "EngineVersion": ctx.required("EngineVersion"),
        "DBInstanceClass": ctx.required("DBInstanceClass"),
        "DBInstanceStorage": storage,
        "DBInstanceStorageType": ctx.str_param("DBInstanceStorageType", "cloud_essd"),
        "Category": ctx.str_param("Category", "HighAvailability"),
        "DBInstanceNetType": ctx.required("DBInstanceNetType"),
        "InstanceNetworkType": ctx.str_param("InstanceNetworkType", "VPC"),
        "PayType": ctx.required("PayType"),
        "SecurityIPList": ctx.required("SecurityIPList"),
        "DBInstanceDescription": ctx.str_param("DBInstanceDescription", ""),
        "MaintainTime": models.DEFAULT_MAINTAIN_TIME,
        "ServerlessConfig": ctx.json_param("ServerlessConfig"),
    }
    if fields["ServerlessConfig"] is not None and not isinstance(fields["ServerlessConfig"], dict):
        raise rules.invalid("ServerlessConfig must be a JSON object.")
    for name in ("VPCId", "VSwitchId", "ZoneIdSlave1", "ResourceGroupId"):
        if (value := ctx.str_param(name)) is not None:
            fields[name] = value
    dry_run = bool(ctx.bool_param("DryRun", False))
    doc = models.create_instance(
        world,
        fields,
        encryption_key=ctx.str_param("EncryptionKey"),
        role_arn=ctx.str_param("RoleARN"),
        dry_run=dry_run,
    )
    if dry_run:  # documented: the precheck passed, nothing was created
        return {"DryRun": True, "DryRunResult": True}
    answer = {
        "DBInstanceId": doc["DBInstanceId"],
        "OrderId": str(10**14 + ctx.next_serial("rds_order")),
        "ConnectionString": doc["ConnectionString"],
        "Port": doc["Port"],
    }
    models.remember(world, "CreateDBInstance", token, params, answer)
    return answer


def delete_dbinstance(ctx: RequestContext) -> dict[str, Any]:
    """Answers the deleted instance's ``RegionId`` (SDK DeleteDBInstanceResponseBody)."""
    world = RdsWorld(ctx)
    instance_id = ctx.required("DBInstanceId")
    region = models.load(world, instance_id)["RegionId"]
    models.delete_instance(world, instance_id)
    return {"RegionId": region}


def describe_dbinstances(ctx: RequestContext) -> dict[str, Any]:
    """Filters honoured: Engine, DBInstanceId (comma list), DBInstanceStatus, Category,
    DBInstanceClass, ZoneId, DBInstanceType, InstanceNetworkType, PayType, VpcId, VSwitchId,
    ResourceGroupId, SearchKey (part of the id or description) and Tags (an instance that
    carries ANY of the given tags, as the SDK model says: ``tags``). Any other filter of the
    request model (ConnectionMode, DedicatedHost*, EngineVersion, Expired, Filter, ...) is
    refused with 400 InvalidParameter rather than silently ignored (chosen). ``Category`` is in
    the items only with ``InstanceLevel=1`` (documented). The filters on stored fields run in
    the store, so only matching documents are decoded; views (with their lock lookups) are
    built for the chosen page only."""
    ctx.required("RegionId")
    world = RdsWorld(ctx)
    page = paging.request(ctx)
    for name in _REFUSED_FILTERS:
        if ctx.str_param(name) is not None:
            raise rules.invalid(f"The emulator does not support the filter {name}.")
    level = ctx.int_param("InstanceLevel", 0, lo=0, hi=1)
    wanted_ids = {i.strip() for i in (ctx.str_param("DBInstanceId") or "").split(",") if i.strip()}
    stored = {n: v for n in _STORED_FILTERS if (v := ctx.str_param(n)) is not None}
    computed = {n: v for n in _COMPUTED_FILTERS if (v := ctx.str_param(n)) is not None}
    tags = _tag_filter(ctx)
    if wanted_ids or computed or tags is not None:
        docs = [
            d
            for d in models.list_instances(world, ctx.region, where=stored)
            if _matches(world, d, wanted_ids, computed, tags)
        ]
        total, chosen = len(docs), docs[page.offset : page.offset + page.size]
    else:
        total = models.count_instances(world, ctx.region, where=stored)
        chosen = models.list_instances(world, ctx.region, page.offset, page.size, where=stored)
    items = [views.list_item(world, d, instance_level=level == 1) for d in chosen]
    return paging.answer(page, {"Items": {"DBInstance": items}}, len(items), total)


_STORED_FILTERS = ("Engine", "Category", "DBInstanceClass", "ZoneId", "InstanceNetworkType")
_COMPUTED_FILTERS = (
    "DBInstanceStatus",
    "DBInstanceType",
    "PayType",
    "VpcId",
    "VSwitchId",
    "ResourceGroupId",
    "SearchKey",
)
_REFUSED_FILTERS = (
    "ConnectionMode",
    "ConnectionString",
    "DedicatedHostGroupId",
    "DedicatedHostId",
    "EngineVersion",
    "Expired",
    "Filter",
    "ProxyId",
)
for _name in _STORED_FILTERS:
    index_field(_name)


def _tag_filter(ctx: RequestContext) -> dict[str, str] | None:
    """``Tags`` ``{"key1":"value1",...}`` (1 to 5 tags, string values), or None when not given.
    Empty or of another shape: 400 (chosen: never read as "no filter")."""
    tags = ctx.json_param("Tags")
    if tags is None:
        return None
    if (
        not isinstance(tags, dict)
        or not 1 <= len(tags) <= tags_api.MAX_FILTER_TAGS
        or not all(isinstance(v, str) for v in tags.values())
    ):
        raise rules.invalid('Tags must be a JSON object {"key":"value"} of 1 to 5 tags.')
    return tags


def _matches(
    world: RdsWorld,
    doc: dict[str, Any],
    wanted_ids: set[str],
    computed: dict[str, str],
    tags: dict[str, str] | None,
) -> bool:
    if wanted_ids and doc["DBInstanceId"] not in wanted_ids:
        return False
    if tags is not None and not tags_api.matches_any(doc, tags):
        return False
    if not computed:
        return True
    view = views.list_item(world, doc)
    for name, value in computed.items():
        if name == "SearchKey":
            text = f"{doc['DBInstanceId']} {doc.get('DBInstanceDescription', '')}".lower()
            if value.lower() not in text:
                return False
        elif str(view.get(name, "")).lower() != value.lower():
            return False
    return True


def describe_dbinstance_attribute(ctx: RequestContext) -> dict[str, Any]:
    """``DBInstanceId`` may be a comma list, like the cloud's."""
    world = RdsWorld(ctx)
    ids = [i.strip() for i in ctx.required("DBInstanceId").split(",") if i.strip()]
    attributes = [views.attribute(world, models.load(world, i)) for i in ids]
    return {"Items": {"DBInstanceAttribute": attributes}}


def describe_dbinstance_encryption_key(ctx: RequestContext) -> dict[str, Any]:
    world = RdsWorld(ctx)
    doc = models.load(world, ctx.required("DBInstanceId"))
    return views.encryption_key(world, doc, ctx.str_param("EncryptionKey"))


_CONFIG_PARAMS = ("DBInstanceId", "ConfigName", "ConfigValue", "SwitchTimeMode", "SwitchTime")


def modify_dbinstance_config(ctx: RequestContext) -> dict[str, Any]:
    """Only ``ConfigName=encryptionKey`` is emulated (others: 400 InvalidParameter).

    ``MaintainTime`` mode waits for the instance's window; ``SwitchTime`` delays an Immediate
    change (whether the cloud honours either for encryptionKey is undocumented).
    """
    world = RdsWorld(ctx)
    token = ctx.str_param("ClientToken")
    params = _business_params(ctx, _CONFIG_PARAMS)
    first = models.replay(world, "ModifyDBInstanceConfig", token, params)
    if first is not None:
        return first
    instance_id = ctx.required("DBInstanceId")
    if ctx.required("ConfigName") != "encryptionKey":
        raise rules.invalid("The emulator supports only ConfigName=encryptionKey.")
    value = ctx.required("ConfigValue")
    mode = ctx.str_param("SwitchTimeMode", "Immediate")
    if mode not in ("Immediate", "MaintainTime"):
        raise rules.invalid("SwitchTimeMode must be Immediate or MaintainTime.")
    switch_time = _switch_time(ctx.str_param("SwitchTime"))
    doc = models.load(world, instance_id)
    doc = models.request_encryption_change(world, doc, value, mode, switch_time)
    models.save(world, doc)
    models.remember(world, "ModifyDBInstanceConfig", token, params, {})
    return {}


def _switch_time(text: str | None, name: str = "SwitchTime") -> float | None:
    """``yyyy-MM-ddTHH:mm:ssZ`` (UTC) -> epoch seconds."""
    if text is None:
        return None
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise rules.invalid(f"{name} must be yyyy-MM-ddTHH:mm:ssZ (UTC).") from None
    return moment.timestamp()


def modify_dbinstance_maintain_time(ctx: RequestContext) -> dict[str, Any]:
    world = RdsWorld(ctx)
    token = ctx.str_param("ClientToken")
    params = _business_params(ctx, ("DBInstanceId", "MaintainTime"))
    first = models.replay(world, "ModifyDBInstanceMaintainTime", token, params)
    if first is not None:
        return first
    models.modify_maintain_time(world, ctx.required("DBInstanceId"), ctx.required("MaintainTime"))
    models.remember(world, "ModifyDBInstanceMaintainTime", token, params, {})
    return {}


def check_cloud_resource_authorized(ctx: RequestContext) -> dict[str, Any]:
    world = RdsWorld(ctx)
    models.load(world, ctx.required("DBInstanceId"))
    return views.authorization(world)


def _comma_list(ctx: RequestContext, name: str, allowed: tuple[str, ...] = ()) -> set[str]:
    """A comma-separated filter (empty: no filter); at most 30 values, like the cloud's."""
    values = {v.strip() for v in (ctx.str_param(name) or "").split(",") if v.strip()}
    if len(values) > 30:
        raise rules.invalid(f"{name} takes at most 30 values.")
    unknown = sorted(values - set(allowed)) if allowed else []
    if unknown:
        raise rules.invalid(f"{name} {unknown[0]!r} is not one of {', '.join(allowed)}.")
    return values


def describe_history_tasks(ctx: RequestContext) -> dict[str, Any]:
    """The task center of the request's region (see ``tasks``): every encryption change,
    Scheduled / Running / Succeed / Canceled. FromStartTime and ToStartTime are required (as
    documented) and bound each task's StartTime (inclusive); a FromStartTime more than 30 days
    ago counts as 30 days ago. Filters as documented: Status, TaskType, InstanceId, TaskId
    (comma lists of at most 30), InstanceType (only ``Instance``), FromExecTime/ToExecTime
    (seconds the task has run; 0 = no limit). PageSize 10..100 (default 10), PageNumber >= 1.
    ResourceGroupId is accepted and ignored (resource groups are not emulated).
    """
    world = RdsWorld(ctx)
    low = _switch_time(ctx.required("FromStartTime"), "FromStartTime") or 0.0
    high = _switch_time(ctx.required("ToStartTime"), "ToStartTime") or 0.0
    low = max(low, world.now - tasks.KEPT_SECONDS)
    statuses = _comma_list(ctx, "Status", tasks.STATUSES)
    types, instance_ids, task_ids = (
        _comma_list(ctx, n) for n in ("TaskType", "InstanceId", "TaskId")
    )
    if ctx.str_param("InstanceType", "Instance") != "Instance":
        raise rules.invalid("InstanceType supports only Instance.")
    least = ctx.int_param("FromExecTime", 0, lo=0) or 0
    most = ctx.int_param("ToExecTime", 0, lo=0) or 0
    number = ctx.int_param("PageNumber", 1, lo=1) or 1
    size = ctx.int_param("PageSize", 10, lo=10, hi=100) or 10

    def wanted(doc: dict[str, Any]) -> bool:
        ran = tasks.exec_seconds(doc, world.now)
        return (
            low <= doc["start"] <= high
            and (not statuses or tasks.status_of(doc, world.now) in statuses)
            and (not types or doc["TaskType"] in types)
            and (not instance_ids or doc["InstanceId"] in instance_ids)
            and (not task_ids or doc["TaskId"] in task_ids)
            and (not least or ran >= least)
            and (not most or ran <= most)
        )

    chosen = [d for d in tasks.listed(ctx.tx, ctx.region, world.now) if wanted(d)]
    page = chosen[(number - 1) * size : number * size]
    return {
        "Items": [tasks.view(d, world.now, ctx.account_id) for d in page],
        "TotalCount": len(chosen),
        "PageNumber": number,
        "PageSize": size,
    }


def describe_kms_associate_resources(ctx: RequestContext) -> dict[str, Any]:
    """``KmsResourceId``: "Only key IDs are supported" (SDK), so an alias or ARN is 400
    InvalidParameter (code chosen). ``KmsResourceType`` (only ``key``) and ``KmsResourceUser``
    (the key's account) are required; another account than the emulator's has no instance
    using the key here, so its census is empty (chosen)."""
    world = RdsWorld(ctx)
    key_id = ctx.required("KmsResourceId")
    if ctx.required("KmsResourceType") != "key":
        raise rules.invalid("KmsResourceType supports only key.")
    if key_id.startswith(("alias/", "acs:")):
        raise rules.invalid("KmsResourceId takes a key id only, not an alias or an ARN.")
    region = ctx.str_param("KmsResourceRegionId") or ctx.region
    if ctx.required("KmsResourceUser") != world.account_id:
        return {"AssociateStatus": False, "AssociateDBInstances": []}
    return views.associations(world, region, key_id)


# "This parameter is required." in the SDK's request models. Emulator choice: DBInstanceId of
# DescribeDBInstanceEncryptionKey and CheckCloudResourceAuthorized is required too (the SDK
# does not say so).
def describe_regions(ctx: RequestContext) -> dict[str, Any]:
    """Every region the emulator knows, one entry per zone as the SDK model shapes it
    (DescribeRegionsResponseBodyRegionsRDSRegion); the zones are the emulator's choice."""
    return {"Regions": {"RDSRegion": [_region_entry(r, z) for r in REGIONS for z in ("a", "b")]}}


def _region_entry(region: str, zone: str) -> dict[str, str]:
    return {
        "RegionId": region,
        "ZoneId": f"{region}-{zone}",
        "LocalName": region,
        "RegionEndpoint": "rds.aliyuncs.com",
        "ZoneName": f"{region}-{zone}",
    }


REQUIRED = {
    "CreateDBInstance": _CREATE_REQUIRED,
    "DeleteDBInstance": ("DBInstanceId",),
    "DescribeDBInstances": ("RegionId",),
    "DescribeDBInstanceAttribute": ("DBInstanceId",),
    "DescribeDBInstanceEncryptionKey": ("DBInstanceId",),
    "ModifyDBInstanceConfig": ("DBInstanceId", "ConfigName", "ConfigValue"),
    "ModifyDBInstanceMaintainTime": ("DBInstanceId", "MaintainTime"),
    "CheckCloudResourceAuthorized": ("DBInstanceId",),
    "DescribeKmsAssociateResources": ("KmsResourceId", "KmsResourceType", "KmsResourceUser"),
    "DescribeHistoryTasks": ("FromStartTime", "ToStartTime"),
    **tde.REQUIRED,
}

register_service(
    "rds",
    "2014-08-15",
    {
        "CreateDBInstance": create_dbinstance,
        "DeleteDBInstance": delete_dbinstance,
        "DescribeDBInstances": describe_dbinstances,
        "DescribeDBInstanceAttribute": describe_dbinstance_attribute,
        "DescribeDBInstanceEncryptionKey": describe_dbinstance_encryption_key,
        "ModifyDBInstanceConfig": modify_dbinstance_config,
        "ModifyDBInstanceMaintainTime": modify_dbinstance_maintain_time,
        "CheckCloudResourceAuthorized": check_cloud_resource_authorized,
        "DescribeKmsAssociateResources": describe_kms_associate_resources,
        "DescribeHistoryTasks": describe_history_tasks,
        "DescribeRegions": describe_regions,
        **tde.ACTIONS,
        **backups.ACTIONS,
        **maintenance.ACTIONS,
        **tags_api.ACTIONS,
    },
    required={**REQUIRED, **backups.REQUIRED, **maintenance.REQUIRED, **tags_api.REQUIRED},
)
