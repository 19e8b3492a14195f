"""STS 2015-04-01 on the wire (rules in models.py). STS is global: `sts.aliyuncs.com`."""

from __future__ import annotations

from reconciler.emulator.dispatch import register_service
from reconciler.emulator.sts import models as m

register_service(
    "sts",
    "2015-04-01",
    {"AssumeRole": m.assume_role, "GetCallerIdentity": m.caller_identity},
    regional=False,
    required={"AssumeRole": ("RoleArn", "RoleSessionName")},
)
