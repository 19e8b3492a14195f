"""Change bodies for hand-built test plans: what the planner writes (kinds/<kind>/body.py), so
that a view reading them through the kind reads a real body."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.rds_encryption.body import EncryptionView, InstanceAfter


def instance_after(instance_id: str, window: str | None = None) -> dict[str, Any]:
    """An instance change's `after` turning on the service key; scheduled when `window`."""
    return InstanceAfter(
        encryption=EncryptionView(key="ServiceKey"),
        instance_id=instance_id,
        config_name="encryptionKey",
        config_value="ServiceKey",
        key_address=None,
        switch_time_mode="MaintainTime" if window else "Immediate",
        maintenance_window=window,
    ).wire()
