"""Compatibility facade: the use cases now live in reconciler.app (README, "Layout").

Re-exports what callers (tests, benchmarks) imported from here before issue 17; new code
imports reconciler.app.plan, .saved_plan, .apply, .drift or .importer directly.
"""

from __future__ import annotations

from reconciler.app.apply import (
    JOURNAL_NAME,
    MADE_ALREADY,
    apply,
    apply_lock,
    check_applicable,
    check_journal,
    check_locked_account,
    journal_path,
    lock_scopes,
    read_account,
)
from reconciler.app.plan import (
    DEFAULT_PATHS,
    Progress,
    load,
    make_plan,
    new_plan_id,
    observe,
    observe_and_plan,
)
from reconciler.app.saved_plan import (
    PlanFileError,
    Resumption,
    StaleFinding,
    check_saved_plan,
    read_plan_file,
    resume,
)

__all__ = [
    "DEFAULT_PATHS",
    "JOURNAL_NAME",
    "MADE_ALREADY",
    "PlanFileError",
    "Progress",
    "Resumption",
    "StaleFinding",
    "apply",
    "apply_lock",
    "check_applicable",
    "check_journal",
    "check_locked_account",
    "check_saved_plan",
    "journal_path",
    "load",
    "lock_scopes",
    "make_plan",
    "new_plan_id",
    "observe",
    "observe_and_plan",
    "read_account",
    "read_plan_file",
    "resume",
]
