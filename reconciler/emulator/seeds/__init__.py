"""Seeds: build an emulator world from YAML (a file path, or a built-in name such as ``demo``).

    apply_seed(target, "demo")            # target: a Store, an EmulatorState or an Emulator
    apply_seed(target, "world.yaml")

The world is built with the services' own verbs, never raw SQL: KMS and RAM through their
registered action handlers (the same code a wire request runs, so names, documents and limits
are validated), RDS instances through ``rds.models.create_instance``. Everything happens in one
store transaction: a bad seed leaves the store unchanged.

File format (every key optional unless said)::

    account: "1234567890123456"   # used only when the target is a bare Store
    regions: [cn-hangzhou]        # each gets its RDS service key (alias/acs/rds)
    kms_instances:                # KMS 3.0 instances (emulator/kms/instances.py), made first
      - id: kst-hzz0demo000000000000001   # required, fixed
        region: cn-hangzhou       # required
        end_date: "2099-01-01T00:00:00Z"  # required: the subscription's expiry
        key_num: 1000             # the most keys it holds (default 1000)
        status: Connected         # Uninitialized|Connecting|Connected|Disconnected|Error
    kms_keys:
      - region: cn-hangzhou       # required
        kms_instance: kst-hzz0demo000000000000001   # omitted: the region's one default key
        aliases: [alias/rds-legacy]
        description: legacy RDS key
        tags: {team: dba}
        state: Enabled            # Enabled | Disabled | PendingDeletion
        pending_window_days: 7    # PendingDeletion only
        rotation: {enabled: true, interval_days: 365}
        deletion_protection: false
    ram:
      policies: [{name: P, document: {...} | "json", description: d}]
      roles:
        - name: AliyunRDSInstanceEncryptionDefaultRole
          trust: rds.aliyuncs.com        # a service name, or a full trust document
          description: d
          policies: [AliyunRDSInstanceEncryptionRolePolicy, {name: P, type: Custom}]
          # a bare name attaches the seed's custom policy of that name if it has one, else the
          # system policy (a custom policy may share a system policy's name); type says which
    rds_instances:
      - id: pgm-bp1ded0000000001        # required
        region: cn-hangzhou             # required
        class: pg.x4.large.2c           # required
        category: HighAvailability
        storage_type: cloud_essd
        storage_gb: 100
        engine: PostgreSQL
        engine_version: "16.0"
        status: Running
        maintain_time: 18:00Z-22:00Z
        encryption: off | service | <alias/... or key id>   # a CMK of the instance's region
        description: d
        kernel_version: rds_postgres_1600_20220830   # default: the newest minor version
        tde: service | <alias/... or key id>          # TDE on with that key (default: off)
        tags: {env: prod, team: payments}   # instance tags, put on through TagResources
        backups:                        # backup sets taken before now (rds/backups.py)
          - key: alias/rds-legacy       # the disk key of the set: alias, key id, service, off
            taken_days_ago: 10          # default 1
            expires_in_days: 3          # from now; absent: kept for ever
    kms: {activated: false}   # KMS not activated in the account (applied last); default true
                              # or kms: {status: InDebt} (Enabled|NotEnabled|InDebt|Suspended)
    users:                    # RAM users: their access keys may call only what their policies allow
      - name: ci-plan                                     # required
        access_keys: [{id: ci-plan-key, secret: ci-plan-secret}]
        policies: [AliyunRDSFullAccess, {name: P, type: Custom}]   # as for roles above
        documents: [{Version: "1", Statement: [...]}]    # inline documents (emulator only)

A seeded instance may use a CMK its role cannot reach today (that is the world's history), but
the instance rules (edition, ESSD, dedicated class for a CMK) still hold; a MySQL or SQL Server
instance may be seeded encrypted, as it can be created so.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator.seeds.build import SeedError, build_world
from reconciler.emulator.store import Store

__all__ = ["SeedError", "apply_seed", "builtin_seeds", "load_seed"]


def builtin_seeds() -> list[str]:
    folder = resources.files("reconciler.emulator.seeds")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_seed(name_or_path: str) -> dict[str, Any]:
    """The seed document: a built-in name (``demo``) or a YAML file path."""
    if name_or_path in builtin_seeds():
        text = resources.files("reconciler.emulator.seeds").joinpath(f"{name_or_path}.yaml")
        raw = text.read_text(encoding="utf-8")
    else:
        path = Path(name_or_path)
        if not path.is_file():
            known = ", ".join(builtin_seeds())
            raise SeedError(f"seed {name_or_path!r} is neither a file nor a built-in ({known})")
        raw = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise SeedError(f"seed {name_or_path!r} is not valid YAML: {error}") from None
    if not isinstance(doc, dict):
        raise SeedError(f"seed {name_or_path!r} must be a mapping at the top level")
    return doc


def _state_of(target: Any, account: str | None) -> Any:
    from reconciler.emulator.runtime import EmulatorState, Settings

    if isinstance(target, Store):
        settings = Settings(account_id=account) if account else Settings()
        return EmulatorState(target, settings)
    if isinstance(target, EmulatorState):
        return target
    state = getattr(target, "state", None)
    if isinstance(state, EmulatorState):
        return state
    raise TypeError(f"cannot seed a {type(target).__name__}: give a Store or an EmulatorState")


def apply_seed(target: Any, name_or_path: str) -> None:
    """Build the seed's world into the target's store, in one transaction."""
    doc = load_seed(name_or_path)
    account = doc.get("account")
    state = _state_of(target, str(account) if account is not None else None)
    build_world(state, doc)
