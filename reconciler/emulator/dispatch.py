"""The shared dispatcher: one registry of services and actions, one place that formats answers.

How a service plugs in (moto style: `models.py` holds state and rules, `responses.py` the wire):

    # reconciler/emulator/rds/responses.py
    from reconciler.emulator.dispatch import RequestContext, register_service

    def describe_regions(ctx: RequestContext) -> dict:
        return {"Regions": {"RDSRegion": [...]}}

    register_service("rds", "2014-08-15", {"DescribeRegions": describe_regions, ...})

and its module name is listed in `reconciler.emulator.services.SERVICES` (already done for
`reconciler.emulator.rds.responses`; an absent module is skipped). Routing is by version
(`x-acs-version` header or `Version` parameter) and action (`x-acs-action` or `Action`).

A handler receives a `RequestContext` and returns a JSON-able dict (`RequestId` is added).
`ctx.params` holds query and form body merged (blank values kept); read them with
`ctx.required(name)`, `ctx.str_param`, `ctx.int_param`, `ctx.bool_param` (True/true/false...),
`ctx.json_param` (JSON-string parameters such as Tags), `ctx.flat_list(prefix)` (`Tag.1.Key`).
`ctx.region` is `RegionId` or the emulator's default region (the SDK never sends
its region_id and KMS actions have no RegionId field, so on one endpoint a client names a KMS
region with `GlobalParameters(queries={"RegionId": region})`), `ctx.account_id` the account the
request acts in (its credentials', accounts.py; `ctx.tx` sees only that account's documents),
`ctx.caller` who calls (accounts.Caller; None in seeds and admin contexts),
`ctx.now()` the EMULATED clock, `ctx.tx` the request's store transaction (committed when the
handler returns, rolled back when it raises), `ctx.state` the EmulatorState (settings such as
`restart_seconds`, `extensions` for a service's runtime state). Errors: raise
`reconciler.emulator.errors.ApiError(status, code, message)`; this module formats it.

Reading another service's state: call the plain functions of its models module with the same
ctx, inside the same transaction, e.g. `kms.models.find_key(ctx, "alias/acs/rds")` or
`ram.models.attached_policy_documents(ctx, role_name)` (see those modules' docstrings).

Hooks: `register_pre_dispatch(hook)` runs `hook(state, service, action, params)` before every
action (after auth, latency and faults) and may raise ApiError (quotas);
`register_authorizer(check)` runs `check(ctx, access_key_id)` inside the request's transaction
right before the handler, and raises ApiError to refuse the call (identity.py: the policies of
the RAM user an access key belongs to);
`admin.register_admin_route` adds an endpoint under /_emulator/.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import string
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.emulator import accounts
from reconciler.emulator.auth import WireRequest, security_token
from reconciler.emulator.errors import ApiError, invalid_parameter, missing_parameter
from reconciler.emulator.runtime import AnswerDropped, EmulatorState, EmulatorStopping
from reconciler.emulator.store import Transaction

Handler = Callable[["RequestContext"], dict[str, Any]]
PreDispatchHook = Callable[[EmulatorState, str, str, dict[str, str]], None]
Authorizer = Callable[["RequestContext", str], None]
Answer = tuple[int, dict[str, str], bytes]
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Service:
    name: str  # "kms", "ram", "rds": the prefix in call counts ("kms:CreateKey")
    version: str
    actions: Mapping[str, Handler]
    regional: bool
    http_status_in_errors: bool  # KMS error bodies carry "HttpStatus"
    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Action -> the parameters its SDK request model marks "This parameter is required.",
    checked (400 MissingParameter) before the handler runs, as the cloud's gateway does."""


_SERVICES_BY_VERSION: dict[str, Service] = {}
_PRE_DISPATCH_HOOKS: list[PreDispatchHook] = []
_AUTHORIZERS: list[Authorizer] = []


def register_service(
    name: str,
    version: str,
    actions: Mapping[str, Handler],
    *,
    regional: bool = True,
    http_status_in_errors: bool = False,
    required: Mapping[str, tuple[str, ...]] | None = None,
) -> None:
    """Register (or replace) a service's action table; called at import of its responses.py.
    ``required``: per action, the parameters that must be present (MissingParameter)."""
    _SERVICES_BY_VERSION[version] = Service(
        name, version, dict(actions), regional, http_status_in_errors, dict(required or {})
    )


def register_pre_dispatch(hook: PreDispatchHook) -> None:
    if hook not in _PRE_DISPATCH_HOOKS:
        _PRE_DISPATCH_HOOKS.append(hook)


def register_authorizer(check: Authorizer) -> None:
    if check not in _AUTHORIZERS:
        _AUTHORIZERS.append(check)


def registered_services() -> dict[str, Service]:
    return dict(_SERVICES_BY_VERSION)


@dataclass
class RequestContext:
    service: str
    action: str
    params: dict[str, str]
    tx: Transaction
    state: EmulatorState
    request_id: str
    caller: accounts.Caller | None = None

    @property
    def account_id(self) -> str:
        """The account of the request: the one its transaction sees (store.py partitions)."""
        return self.tx.scope or self.state.settings.account_id

    @property
    def default_region(self) -> str:
        return self.state.settings.default_region

    @property
    def region(self) -> str:
        return self.params.get("RegionId") or self.default_region

    def now(self) -> datetime:
        return self.state.clock.now()

    def required(self, name: str) -> str:
        value = self.params.get(name, "")
        if value == "":
            raise missing_parameter(name)
        return value

    def str_param(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        return default if value is None or value == "" else value

    def int_param(
        self, name: str, default: int | None = None, lo: int | None = None, hi: int | None = None
    ) -> int | None:
        text = self.str_param(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise invalid_parameter(name, f"{text!r} is not an integer") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise invalid_parameter(name, f"{value} is outside {lo}..{hi}")
        return value

    def bool_param(self, name: str, default: bool | None = None) -> bool | None:
        """Python SDKs send True/False, others true/false: compare case-insensitively."""
        text = self.str_param(name)
        if text is None:
            return default
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise invalid_parameter(name, f"{text!r} is not a boolean")

    def json_param(self, name: str, default: Any = None) -> Any:
        text = self.str_param(name)
        if text is None:
            return default
        try:
            return json.loads(text)
        except ValueError:
            raise invalid_parameter(name, "not valid JSON") from None

    def next_serial(self, name: str) -> int:
        """The next value (1, 2, ...) of the store-wide counter ``name``, kept in the store's meta
        table inside this request's transaction. Ids made from it (see :func:`stable_token`) are
        the same on every fresh run of the same calls and unique within a store, across
        restarts on the same file (a rolled-back request gives its number back)."""
        key = f"serial:{name}"
        value = int(self.tx.get_meta(key, "0") or 0) + 1
        self.tx.set_meta(key, str(value))
        return value

    def flat_list(self, prefix: str) -> list[dict[str, str]]:
        """`Tag.1.Key=a&Tag.1.Value=b&Tag.2.Key=c` -> [{"Key": "a", "Value": "b"}, {"Key": "c"}];
        `ResourceId.1=x` -> [{"": "x"}]. Ordered by index."""
        items: dict[int, dict[str, str]] = {}
        for key, value in self.params.items():
            head, _, rest = key.partition(".")
            if head != prefix or not rest:
                continue
            index, _, field_name = rest.partition(".")
            if index.isdigit():
                items.setdefault(int(index), {})[field_name] = value
        return [items[i] for i in sorted(items)]


_LOWER_ALNUM = string.ascii_lowercase + string.digits
_SCRAMBLE = 2**61 - 1  # a prime: coprime to every space below, so the map is one-to-one


def stable_token(serial: int, length: int, salt: str = "", alphabet: str = _LOWER_ALNUM) -> str:
    """``length`` characters of ``alphabet`` that look random but are a one-to-one function of
    ``serial`` (for one ``salt``): distinct serials give distinct tokens while serial <
    len(alphabet) ** length. Generated ids are built from a counter (:meth:`RequestContext.
    next_serial`) and this, never from a random source, so a world is the same on every run."""
    base = len(alphabet)
    space = base**length
    offset = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:16], "big") % space
    value = (serial * _SCRAMBLE + offset) % space
    out = []
    for _ in range(length):
        value, digit = divmod(value, base)
        out.append(alphabet[digit])
    return "".join(reversed(out))


def stable_uuid(*parts: str) -> str:
    """A UUID-shaped id (version 5 layout) derived from ``parts``: stable for the same parts."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "emulator:" + ":".join(parts)))


_REQUEST_IDS = random.Random(os.urandom(32))
"""Request ids need to be unique, not secret: a generator seeded once from the OS instead of
a system call per request (docs/emulator.md, "Performance"); seeded again in a forked child,
so that two processes never give the same sequence."""
os.register_at_fork(after_in_child=lambda: _REQUEST_IDS.seed(os.urandom(32)))


def new_request_id() -> str:
    """An upper-case random (version 4) UUID, formatted without building a UUID object."""
    h = f"{_REQUEST_IDS.getrandbits(128):032X}"
    variant = "89AB"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""What `json.dumps(doc, separators=(",", ":"), ensure_ascii=False)` builds on every call."""


def json_answer(
    status: int, doc: Mapping[str, Any], headers: dict[str, str] | None = None
) -> Answer:
    body = _ENCODER.encode(doc).encode()
    return status, {"Content-Type": "application/json;charset=utf-8", **(headers or {})}, body


def error_answer(error: ApiError, request_id: str, service: Service | None, region: str) -> Answer:
    """THE place errors are formatted: {RequestId, HostId, Code, Message, Recommend}."""
    name = service.name if service else "api"
    host = (
        f"{name}.{region}.aliyuncs.com" if service and service.regional else f"{name}.aliyuncs.com"
    )
    doc: dict[str, Any] = {
        "RequestId": request_id,
        "HostId": host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product={name.upper()}"
        f"&requestId={request_id}",
    }
    if service and service.http_status_in_errors:
        doc["HttpStatus"] = error.status
    doc.update({k: v for k, v in error.extra.items() if k not in doc})
    return json_answer(error.status, doc, {"x-acs-request-id": request_id, **error.headers})


def _route(request: WireRequest) -> tuple[Service, str]:
    params = request.params
    version = request.headers.get("x-acs-version") or params.get("Version", "")
    action = request.headers.get("x-acs-action") or params.get("Action", "")
    if not version:
        raise missing_parameter("Version")
    if not action:
        raise missing_parameter("Action")
    service = _SERVICES_BY_VERSION.get(version)
    if service is None:
        raise ApiError(
            400, "InvalidVersion", f"Specified parameter Version is not valid: {version}."
        )
    if action not in service.actions:
        raise ApiError(
            404,
            "InvalidAction.NotFound",
            f"Specified api is not found, please check your url and method: {action}.",
        )
    return service, action


def _context(
    state: EmulatorState,
    tx: Transaction,
    request: WireRequest,
    key_id: str,
    service: str,
    action: str,
    request_id: str,
) -> RequestContext:
    """The request's context in the account its credentials name (accounts.py)."""
    default = state.settings.account_id
    caller = accounts.resolve_caller(
        tx,
        default,
        key_id,
        security_token(request),
        state.clock.now(),
        state.auth.is_account_key(key_id),
    )
    scoped = tx.in_account(accounts.scope_of(default, caller.account))
    return RequestContext(service, action, request.params, scoped, state, request_id, caller)


def dispatch(state: EmulatorState, request: WireRequest) -> Answer:
    """Authenticate, route, count, delay, inject faults, run the handler in one transaction.
    Raises AnswerDropped (only) when a drop fault swallows the committed action's answer."""
    request_id = new_request_id()
    params = request.params
    region = params.get("RegionId") or state.settings.default_region
    service: Service | None = _SERVICES_BY_VERSION.get(
        request.headers.get("x-acs-version") or params.get("Version", "")
    )
    try:
        key_id = state.auth.verify(request)
        service, action = _route(request)
        state.calls.add(service.name, action)
        if state.latency_ms > 0:
            time.sleep(state.latency_ms / 1000.0)
        state.faults.check(service.name, action, params)
        state.busy.check_write(service.name, action, params)
        for hook in _PRE_DISPATCH_HOOKS:
            hook(state, service.name, action, params)
        for name in service.required.get(action, ()):
            if name not in params:
                raise missing_parameter(name)
        with state.store.transaction() as tx:
            ctx = _context(state, tx, request, key_id, service.name, action, request_id)
            for check in _AUTHORIZERS:
                check(ctx, key_id)
            result = service.actions[action](ctx)
        state.busy.rewrite(service.name, action, result)
        answer = json_answer(
            200, {**result, "RequestId": request_id}, {"x-acs-request-id": request_id}
        )
        drop = state.drops.take(service.name, action)
        if drop is not None:  # committed above; the server loses the answer
            raise AnswerDropped(drop.delay_ms / 1000.0, drop.mode, answer)
        return answer
    except ApiError as error:
        return error_answer(error, request_id, service, region)
    except (AnswerDropped, EmulatorStopping):
        raise
    except Exception as bug:  # a bug in a handler must still answer JSON, never drop the connection
        if state.stopping.is_set():  # the store closed under the call: not a bug
            raise EmulatorStopping from bug
        # One line, no traceback on the serving terminal; tests fail on any such line.
        _LOG.error(
            "internal error in %s: %s: %s",
            request.headers.get("x-acs-action", "?"),
            type(bug).__name__,
            bug,
        )
        internal = ApiError(
            500, "InternalError", "The request processing has failed due to some unknown error."
        )
        return error_answer(internal, request_id, service, region)
