"""Moved to reconciler/kinds/rds_encryption/desired.py (issue 17); this name stays for the
module that still imports it (drift/findings.py)."""

from reconciler.kinds.rds_encryption.desired import describe_value, pending_task

__all__ = ["describe_value", "pending_task"]
