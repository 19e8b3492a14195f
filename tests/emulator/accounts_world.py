"""A two-account world for the accounts and STS tests: account A (the default,
1234567890123456) with a user that may assume roles, and account B (2234567890123456) with
its own instance and key and two roles: `reconciler` trusts A, `closed` trusts a third
account only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

A, B = "1234567890123456", "2234567890123456"
A_INSTANCE, B_INSTANCE = "pgm-bp1aaaa000000001", "pgm-bp1bbbb000000001"
USER_KEY, USER_SECRET = "deployer-key", "deployer-secret"
B_ROOT_KEY, B_ROOT_SECRET = "b-root-key", "b-root-secret"
ROLE_ARN = f"acs:ram::{B}:role/reconciler"
CLOSED_ARN = f"acs:ram::{B}:role/closed"
_TAG = {"acs:rds:instance-encryption": "true"}


def _trust(principal: str) -> dict[str, Any]:
    statement = {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"RAM": [principal]}}
    return {"Version": "1", "Statement": [statement]}


def _account(instance: str, kst: str, alias: str) -> dict[str, Any]:
    return {
        "regions": ["cn-hangzhou"],
        "kms_instances": [{"id": kst, "region": "cn-hangzhou", "end_date": "2099-12-31T00:00:00Z"}],
        "kms_keys": [
            {"region": "cn-hangzhou", "kms_instance": kst, "aliases": [alias], "tags": _TAG}
        ],
        "ram": {
            "roles": [
                {
                    "name": "AliyunRDSInstanceEncryptionDefaultRole",
                    "policies": ["AliyunRDSInstanceEncryptionRolePolicy"],
                }
            ]
        },
        "rds_instances": [
            {
                "id": instance,
                "region": "cn-hangzhou",
                "class": "pg.x4.large.2c",
                "encryption": "off",
            }
        ],
    }


def world() -> dict[str, Any]:
    own = _account(A_INSTANCE, "kst-hzz0aaaa000000000000001", "alias/a-key")
    other = _account(B_INSTANCE, "kst-hzz0bbbb000000000000001", "alias/b-key")
    other["access_key"] = {"id": B_ROOT_KEY, "secret": B_ROOT_SECRET}
    other["ram"]["roles"] += [
        {
            "name": "reconciler",
            "trust": _trust(f"acs:ram::{A}:root"),
            "policies": ["AliyunRDSFullAccess", "AliyunKMSReadOnlyAccess"],
        },
        {"name": "closed", "trust": _trust("acs:ram::3334567890123456:root")},
    ]
    own["users"] = [
        {
            "name": "deployer",
            "access_keys": [{"id": USER_KEY, "secret": USER_SECRET}],
            "policies": ["AliyunSTSAssumeRoleAccess"],
        }
    ]
    return {**own, "accounts": {B: other}}


def write_world(folder: Path) -> str:
    path = folder / "accounts.yaml"
    path.write_text(yaml.safe_dump(world()), encoding="utf-8")
    return str(path)
