"""The typed bodies of a change (issue 17): each kind's models of what its changes carry in
`after` (and `before`), so that apply, drift and the views read fields, not string keys.

On the wire `Change.after`/`before` stay plain dicts (docs/plan-format.md): a kind's planner
builds them with `ChangeBody.wire()` and every reader parses them back with `ChangeBody.of()`.
A body that is not what the kind writes (a hand-edited plan file) is a `ChangeBodyError`
naming the address and the field, never a KeyError: the models forbid unknown keys and are
strict (no "true" for true), so a reader never acts on a value the planner did not write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.plan.model import Change

Side = Literal["after", "before"]


class ChangeBodyError(ReconcilerError, ValueError):
    """A change's `after` or `before` is not the body its kind writes."""


class ChangeBody(BaseModel):
    """A change's `after` or `before` of one kind. Fields are declared in the order the
    planner writes them: `wire()` gives the same dict, key for key, in the same order."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @classmethod
    def parse(cls, address: str, side: Side, body: Any) -> Self:
        """`body` as this model; ChangeBodyError (address, side, first bad field) if not."""
        if not isinstance(body, dict):
            raise ChangeBodyError(f"{address}: its {side} is not an object")
        try:
            return cls.model_validate(body)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top level)"
            more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
            raise ChangeBodyError(
                f"{address}: its {side} is not what the planner writes: {where}: "
                f"{first['msg']}{more}"
            ) from None

    @classmethod
    def of(cls, change: Change, side: Side = "after") -> Self:
        """The change's `after` (or `before`) as this model; ChangeBodyError when it is
        absent or malformed."""
        return cls.parse(change.address, side, getattr(change, side))

    def wire(self) -> dict[str, Any]:
        """The plain dict of the plan file: the keys given, in field order."""
        return self.model_dump(mode="json", exclude_unset=True)
