"""Moved to reconciler/kinds/rds_encryption/guards.py (issue 17); this name stays for the
module that still imports it (drift/importer.py)."""

from reconciler.kinds.rds_encryption.guards import (
    ESSD_STORAGE_TYPES,
    SERVERLESS_CATEGORIES,
    SUPPORTED_CATEGORIES,
    Finding,
    check_cmk_class,
    check_engine,
    check_supports_encryption,
)

__all__ = [
    "ESSD_STORAGE_TYPES",
    "SERVERLESS_CATEGORIES",
    "SUPPORTED_CATEGORIES",
    "Finding",
    "check_cmk_class",
    "check_engine",
    "check_supports_encryption",
]
