"""Assume an account's RAM role with the base credentials (STS AssumeRole through
alibabacloud-credentials' RamRoleArn provider; README, "Several accounts").

A refused AssumeRole (the role's trust policy, the caller's own policy, a role that does not
exist) stops the run with one line naming the account, the role and what to fix; it never
falls back to the base credentials.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.cloud.redact import remember_secret
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.cloud.clients import RoleToAssume

SESSION_PREFIX = "reconciler-"
_SESSION_CHARACTER = re.compile(r"[^A-Za-z0-9.@_-]")
SESSION_MAX = 64
"""STS's RoleSessionName: 2-64 of A-Za-z0-9.@_- (docs/emulator.md, "Accounts and STS")."""


class AssumeRoleError(ReconcilerError):
    """The base credentials could not assume an account's role."""


def session_name(environ: Mapping[str, str] = os.environ) -> str:
    """`reconciler-<who>[-<CI job>]`: who ran it, as the role's ActionTrail records show it.

    In CI the pipeline's user and run (GitHub Actions, GitLab CI), else the local user."""
    who = environ.get("GITHUB_ACTOR") or environ.get("GITLAB_USER_LOGIN") or _local_user()
    job = environ.get("GITHUB_RUN_ID") or environ.get("CI_JOB_ID")
    name = SESSION_PREFIX + who + (f"-{job}" if job else "")
    return _SESSION_CHARACTER.sub("-", name)[:SESSION_MAX]


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "unknown"


def assume_role(base: Any, role: RoleToAssume, sts_endpoint: str | None) -> Any:
    """A provider of the role's STS credentials, checked to yield them now."""
    from alibabacloud_credentials.provider import RamRoleArnCredentialsProvider

    provider = RamRoleArnCredentialsProvider(
        credentials_provider=base,
        role_arn=role.role_arn,
        role_session_name=role.session_name,
        sts_endpoint=sts_endpoint,
    )
    try:
        credentials = provider.get_credentials()
    except Exception as error:  # the library raises CredentialException with the answer
        raise AssumeRoleError(_refusal(role, error)) from error
    remember_secret(credentials.get_access_key_secret())
    remember_secret(credentials.get_security_token())
    return provider


def _refusal(role: RoleToAssume, error: Exception) -> str:
    code, message = _answer(str(error))
    head = f"account {role.account}: cannot assume role {role.role_arn}"
    if code.startswith("EntityNotExist"):
        fix = "the role does not exist: create it, or fix accounts." + role.account + ".role_arn"
    elif code:
        fix = (
            "its trust policy must allow the base credentials' account (or this user or role) "
            "to sts:AssumeRole, and the base identity needs sts:AssumeRole on it; "
            f"`reconciler permissions --account {role.account}` prints both"
        )
    else:
        fix = "STS could not be reached or did not answer; check the network and try again"
    said = f"{code}: {message}" if code else message
    return f"{head} ({said}); {fix}. Nothing was read in this account"


def _answer(text: str) -> tuple[str, str]:
    """(Code, Message) of the STS answer the library quotes after `result: `."""
    body = text.partition("result: ")[2]
    try:
        answer = json.loads(body)
    except ValueError:
        return "", " ".join(text.split())[:300]
    if not isinstance(answer, dict):
        return "", body[:300]
    return str(answer.get("Code", "")), str(answer.get("Message", ""))
