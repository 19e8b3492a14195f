"""Fields added to a digested document after its digests existed (docs/plan-format.md: a plan's
spec digest, fingerprint and facts digests) are left out of its dumps while they hold their
default, so documents that do not use them keep their digests: a saved plan made before the field
existed is not stale for nothing. A model lists such fields in `omit_when_default`."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer


class OmitsDefaults(BaseModel):
    """Base of the digested models: `omit_when_default` fields are dumped only when set."""

    omit_when_default: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _without_defaults(self, handler: SerializerFunctionWrapHandler) -> Any:
        dumped = handler(self)
        if not self.omit_when_default or not isinstance(dumped, dict):
            return dumped
        fields = type(self).model_fields
        for name in self.omit_when_default:
            default = fields[name].get_default(call_default_factory=True)
            if name in dumped and getattr(self, name) == default:
                del dumped[name]
        return dumped
