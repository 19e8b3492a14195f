"""Fields added to a digested document after its digests existed (docs/plan-format.md: a plan's
spec digest, fingerprint and facts digests) are left out of its dumps while they hold their
default, so documents that do not use them keep their digests: a saved plan made before the field
existed is not stale for nothing. The exclusion is pydantic's own (`exclude_if`), done in its
serializer: a wrapping serializer per model made a fingerprint of 1,000 instances 12x slower."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field


def omitted_while(
    default: Any = None, *, default_factory: Callable[[], Any] | None = None, **extra: Any
) -> Any:
    """A Field dumped only once it differs from its default (`default`, or what
    `default_factory` makes)."""
    empty = default_factory() if default_factory is not None else default

    def unset(value: Any) -> bool:
        return bool(value == empty)

    if default_factory is not None:
        return Field(default_factory=default_factory, exclude_if=unset, **extra)
    return Field(default=default, exclude_if=unset, **extra)
