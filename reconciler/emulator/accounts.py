"""Several accounts in one emulator, and who calls (docs/emulator.md, "Accounts and STS").

Every account has its own RDS, KMS and RAM world: the store keeps each account's documents
apart (store.py, `Transaction.in_account`). The default account is `Settings.account_id`
(`--account-id`); other accounts are declared by a seed (`accounts:`) or the admin API
(`POST /_emulator/accounts`). A request acts in the account of its credentials:

- the default account's own key (`--access-key-id`), or another account's own key
  (`access_key` of its declaration): the account itself (root, no policy applies);
- a RAM user's access key: the user's account (the key's owner, kept cloud-wide here);
- STS credentials (`STS.` key, its SecurityToken sent as `x-acs-security-token` or the V1
  `SecurityToken` parameter): the account of the role they were issued for (sts/).

Refusals (the gateway's documented codes): STS credentials without their token 400
`MissingSecurityToken` "SecurityToken is mandatory for this action."; a token that is not the
key's 400 `InvalidSecurityToken.MismatchWithAccessKey`; expired credentials (on the EMULATED
clock) 400 `InvalidSecurityToken.Expired` "Specified SecurityToken is expired.". The 400 status
of these is **chosen** (the documents name the codes, not the status).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler.emulator.errors import ApiError
from reconciler.emulator.store import Transaction, cloud_wide_kind

ACCOUNT_KIND = "account"
"""Declared accounts other than the default one, by id: {AccountId}."""
KEY_OWNER_KIND = "access_key_owner"
"""Who owns an access key, by AccessKeyId: {Account, Root, AccessKeySecret (root keys only)}.
A RAM user's key itself (with its secret) stays in the user's account (identity.py)."""
STS_KIND = "sts_credential"
"""Issued STS credentials, by AccessKeyId (sts/models.py)."""
USER_KEY_KIND = "ram_access_key"
"""The account-local store kind of RAM users' access keys (runtime.ACCESS_KEY_KIND)."""
GLOBAL = ""
ACCOUNT_ID = re.compile(r"[0-9]{16}")

for _kind in (ACCOUNT_KIND, KEY_OWNER_KIND, STS_KIND):
    cloud_wide_kind(_kind)

ROOT, USER, SESSION = "root", "user", "session"


@dataclass(frozen=True)
class Caller:
    """The principal a request's credentials name."""

    access_key_id: str
    account: str
    kind: str  # ROOT | USER | SESSION
    user_name: str = ""
    session: dict[str, Any] | None = None  # the STS credential document (SESSION)

    @property
    def arn(self) -> str:
        """The principal's ARN as a trust policy names it (a session: its role's ARN)."""
        if self.kind == USER:
            return f"acs:ram::{self.account}:user/{self.user_name}"
        if self.kind == SESSION and self.session is not None:
            return str(self.session["RoleArn"])
        return f"acs:ram::{self.account}:root"


def scope_of(default_account: str, account: str) -> str:
    """The store partition of ``account`` ("" for the default account)."""
    return "" if account == default_account else account


def is_declared(tx: Transaction, default_account: str, account: str) -> bool:
    return account == default_account or tx.get(ACCOUNT_KIND, GLOBAL, account) is not None


def declared_accounts(tx: Transaction, default_account: str) -> list[str]:
    return [default_account] + [d["AccountId"] for d in tx.list(ACCOUNT_KIND, GLOBAL)]


def declare(tx: Transaction, default_account: str, account: str, key: Any = None) -> None:
    """Declare ``account`` (16 digits), with an optional own key ``{id, secret}``.
    ValueError on a bad id or key."""
    if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account):
        raise ValueError(f"account id {account!r}: 16 digits")
    if account != default_account:
        tx.put(ACCOUNT_KIND, GLOBAL, account, {"AccountId": account})
    if key is None:
        return
    if not isinstance(key, dict) or set(key) != {"id", "secret"}:
        raise ValueError(f"account {account}: access_key must be {{id, secret}}")
    key_id, secret = key["id"], key["secret"]
    if not isinstance(key_id, str) or not isinstance(secret, str) or not key_id or not secret:
        raise ValueError(f"account {account}: access_key id and secret must be strings")
    held = tx.get(KEY_OWNER_KIND, GLOBAL, key_id)
    if held is not None and (held["Account"], held.get("Root")) != (account, True):
        raise ValueError(f"account {account}: access key {key_id} is already in use")
    tx.put(
        KEY_OWNER_KIND,
        GLOBAL,
        key_id,
        {"AccessKeyId": key_id, "Account": account, "Root": True, "AccessKeySecret": secret},
    )


def own_user_key(tx: Transaction, key_id: str, account: str) -> None:
    """Record that the RAM user key ``key_id`` belongs to ``account``; ValueError when
    another account (or an account's own key) holds that id."""
    held = tx.get(KEY_OWNER_KIND, GLOBAL, key_id)
    if held is not None and (held["Account"] != account or held.get("Root")):
        raise ValueError(f"{key_id} is already used in account {held['Account']}")
    tx.put(KEY_OWNER_KIND, GLOBAL, key_id, {"AccessKeyId": key_id, "Account": account})


def key_secret(tx: Transaction, default_account: str, key_id: str) -> str | None:
    """The secret of any key but the default account's own (None: no such key)."""
    session = tx.get(STS_KIND, GLOBAL, key_id)
    if session is not None:
        return str(session["AccessKeySecret"])
    owner = tx.get(KEY_OWNER_KIND, GLOBAL, key_id)
    if owner is not None and owner.get("Root"):
        return str(owner["AccessKeySecret"])
    account = owner["Account"] if owner is not None else default_account
    doc = tx.in_account(scope_of(default_account, account)).get(USER_KEY_KIND, GLOBAL, key_id)
    return None if doc is None else str(doc["AccessKeySecret"])


def sts_session(tx: Transaction, key_id: str) -> dict[str, Any] | None:
    """The STS credentials ``key_id`` names (None: not an STS key), read once until the store
    changes (store.Derived; nothing changes the returned document)."""
    return tx.derived(("sts_session", key_id), lambda: tx.get(STS_KIND, GLOBAL, key_id))


def _token_error(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def resolve_caller(
    tx: Transaction, default_account: str, key_id: str, token: str, now: datetime, root: bool
) -> Caller:
    """The principal of a request signed with ``key_id`` (``root``: the default account's own
    key) presenting security token ``token`` ("" when none); ApiError for STS credentials
    without their token, with another token, or expired at ``now`` (the emulated clock)."""
    session = None if root else sts_session(tx, key_id)
    if session is not None:
        if not token:
            raise _token_error(
                "MissingSecurityToken", "SecurityToken is mandatory for this action."
            )
        if token != session["SecurityToken"]:
            raise _token_error(
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            )
        if now.strftime("%Y-%m-%dT%H:%M:%SZ") >= session["Expiration"]:
            raise _token_error(
                "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."
            )
        return Caller(key_id, session["Account"], SESSION, session=session)
    if token:
        raise _token_error(
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey: the key is not an STS key.",
        )
    if root:
        return Caller(key_id, default_account, ROOT)
    caller = tx.derived(("key_caller", key_id), lambda: _key_caller(tx, default_account, key_id))
    if caller is None:  # removed between the signature check and now
        raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    return caller


def _key_caller(tx: Transaction, default_account: str, key_id: str) -> Caller | None:
    """The holder of a key that is not an STS key: another account's own key or a RAM user's
    (None: no such key). Read once until the store changes (store.Derived; Caller is frozen)."""
    owner = tx.get(KEY_OWNER_KIND, GLOBAL, key_id)
    account = owner["Account"] if owner is not None else default_account
    if owner is not None and owner.get("Root"):
        return Caller(key_id, account, ROOT)
    doc = tx.in_account(scope_of(default_account, account)).get(USER_KEY_KIND, GLOBAL, key_id)
    return None if doc is None else Caller(key_id, account, USER, user_name=str(doc["UserName"]))
