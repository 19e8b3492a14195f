"""How a read's answer becomes a fact, or an error that stops the plan (fail closed).

Only answers known to state a fact are facts: a successful answer of the expected shape, or an
error that the reader names as meaning "absent" (`absent_when`). Every other failure, and an
answer we cannot parse, is raised with the action, the resource it was about, the cloud's code
and request id, so observe stops instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError

from reconciler.errors import CloudCallError, PermanentError

UNEXPECTED_ANSWER = "UnexpectedAnswer"


@contextmanager
def reading(action: str, resource: str) -> Iterator[None]:
    """Label a failed read with what it was about; turn an unparsable answer into an error.

    `action` is `service:Action` as the call counter names it."""
    try:
        yield
    except CloudCallError as error:
        if error.resource is None:
            error.resource = resource
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ValidationError) as bad:
        error = PermanentError(
            action,
            UNEXPECTED_ANSWER,
            f"the answer could not be read ({type(bad).__name__}: {_short(bad)}); nothing was "
            "assumed from it",
        )
        error.resource = resource
        raise error from bad


def absent(error: CloudCallError, *codes: str) -> bool:
    """Whether an error is one of the codes that state the resource does not exist.

    An allow-list of exact codes (compared case-insensitively), never a family: a not-found
    answer about something else (the instance of an encryption read, a role being listed) is
    not a fact about the resource asked for."""
    return isinstance(error, PermanentError) and error.code.lower() in {c.lower() for c in codes}


def _short(error: BaseException, limit: int = 200) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return text[:limit]
