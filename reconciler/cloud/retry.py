"""Our own retry policy for cloud calls (the SDK retries nothing by default).

Errors are classified by code FAMILY, never by one exact string: the cloud's codes are partly
undocumented (docs/real-cloud.md, Errors and how they are classified), so `Throttling.Api`,
`Rejected.Throttling` and a future `Throttling.Whatever` all land in the same family.

Transient: throttling, service unavailable, 5xx, connection errors and timeouts, and (for
writes only) an instance that is busy. Everything else is permanent, and so is a credentials
provider's failure (CredentialsError), whatever caused it.

Network failures become NetworkError (cloud/network.py), whose message names the endpoint, the
cause and the fix. Retrying them is bounded further: where it cannot help (nothing listens on a
loopback port, a host name that does not resolve) for `fail_fast_seconds` only; a timeout (each
attempt costs seconds) at most `timeout_attempts` times; and a write whose answer was lost (it
may have taken effect) never, unless the caller says the write is idempotent (a ClientToken).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from reconciler.cloud.network import TIMEOUTS, CallSite, network_cause, network_error, with_attempts
from reconciler.cloud.redact import redact
from reconciler.errors import (
    CloudCallError,
    Interrupted,
    NetworkError,
    PermanentError,
    TransientError,
)
from reconciler.errors import (
    Family as Family,  # defined with the errors that carry it; classified here
)

T = TypeVar("T")


def code_family(code: str | None, status: int | None) -> Family:
    """Classify an error by its code's family, falling back to the HTTP status."""
    text = (code or "").lower()
    if "throttling" in text or "flowcontrol" in text or "qps" in text or status == 429:
        return Family.THROTTLING
    if text.startswith("serviceunavailable") or "internal" in text:
        return Family.UNAVAILABLE
    if "dbinstancestate" in text or "dbinstancestatus" in text or "instancestatus" in text:
        return Family.BUSY
    if "notfound" in text or "notexist" in text or status == 404:
        return Family.NOT_FOUND
    if (
        text.startswith("forbidden")
        or "nopermission" in text
        or "notauthorized" in text
        or "accessdenied" in text
        or status == 403
    ):
        return Family.NOT_AUTHORIZED
    if status is not None and status >= 500:
        return Family.UNAVAILABLE
    return Family.INVALID


def is_transient(family: Family, *, write: bool) -> bool:
    """Whether a call that failed with this family is worth retrying.

    A busy instance only makes a WRITE worth retrying (the instance will be Running again);
    a read that answers "busy" is a real answer, not a reason to wait."""
    if family in (Family.THROTTLING, Family.UNAVAILABLE, Family.CONNECTION, Family.TIMEOUT):
        return True
    return family is Family.BUSY and write


def classify(
    action: str,
    exc: BaseException,
    *,
    write: bool = False,
    idempotent: bool = False,
    site: CallSite | None = None,
) -> CloudCallError:
    """Turn any exception from an SDK call into TransientError or PermanentError.

    Duck-typed on the SDK's exception attributes (`code`, `status_code`, `retry_after`,
    `inner_exception`) so this module never imports the SDK. `site` (where the call went)
    only shapes the message of a network failure."""
    if isinstance(exc, CloudCallError):
        return exc
    credentials = _credentials_failure(exc)
    if credentials is not None:
        # A provider could not give credentials (an STS token not refreshed, the ECS metadata
        # service or the OIDC token file out of reach), even when a network error of the
        # PROVIDER's own endpoint caused it: never retried, never shown as the cloud's.
        text = getattr(credentials, "message", None) or str(credentials)
        return PermanentError(
            action, CREDENTIALS_ERROR, redact(f"the credentials could not be obtained: {text}")
        )
    code = getattr(exc, "code", None)
    status = getattr(exc, "status_code", None)
    inner = getattr(exc, "inner_exception", None)
    cause = network_cause(exc) if code is None else None
    if cause is not None:
        error = network_error(
            action,
            cause,
            site,
            write=write,
            idempotent=idempotent,
            detail=type(inner or exc).__name__,
        )
        return error
    if code is None and inner is not None:
        # Not an answer from the cloud and not a network failure: e.g. a credentials provider
        # that failed. Retrying cannot help.
        return PermanentError(action, "ClientError", redact(f"{type(inner).__name__}: {inner}"))
    family = code_family(code, status)
    message = redact(_safe_message(exc))
    request_id = getattr(exc, "request_id", None)
    cls = TransientError if is_transient(family, write=write) else PermanentError
    retry_after_ms = getattr(exc, "retry_after", None)
    return cls(
        action,
        str(code or "Unknown"),
        message,
        status,
        request_id,
        family=family,
        retry_after=(retry_after_ms / 1000.0) if retry_after_ms else None,
    )


CREDENTIALS_ERROR = "CredentialsError"


def _credentials_failure(exc: BaseException) -> BaseException | None:
    """The SDK's CredentialException (by class name: this module never imports the SDK), as
    raised or as the inner exception of the SDK's wrapper; None otherwise."""
    for candidate in (exc, getattr(exc, "inner_exception", None)):
        if candidate is not None and any(
            cls.__name__ == "CredentialException" for cls in type(candidate).__mro__
        ):
            return candidate
    return None


def family_of(error: CloudCallError) -> Family:
    """The family of an already classified error. A NetworkError is never an answer from the
    cloud, so never a fact: CONNECTION, or TIMEOUT when the connection or the answer took too
    long."""
    if isinstance(error, NetworkError):
        return Family.TIMEOUT if error.cause in TIMEOUTS else Family.CONNECTION
    return error.family or code_family(error.code, error.status)


def _safe_message(exc: BaseException) -> str:
    """The SDK message `code: 400, <Message> request id: <id>`, reduced to <Message>.

    Error bodies never carry secrets, but we keep only the human part anyway."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        text = data.get("Message") or data.get("message")
        if text:
            return str(text)
    return str(getattr(exc, "message", None) or type(exc).__name__)


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and a deadline.

    The delay before retry n (1-based) is uniform in [0, min(cap, base * 2**(n-1))], but never
    less than the server's `x-acs-retry-after`. Clock, sleep and randomness are injectable."""

    max_attempts: int = 8
    base_delay: float = 0.1
    max_delay: float = 5.0
    deadline: float = 120.0
    fail_fast_seconds: float = 1.0
    """The retry budget when retrying cannot help (NetworkError.fail_fast)."""
    timeout_attempts: int = 3
    """At most this many attempts for a call that keeps timing out."""
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    _rng_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry `retry_number` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        with self._rng_lock:
            jittered = self.rng.uniform(0.0, ceiling)
        return max(jittered, retry_after or 0.0)

    def run(
        self,
        action: str,
        call: Callable[[], T],
        *,
        write: bool = False,
        idempotent: bool = False,
        on_retry: Callable[[CloudCallError], None] | None = None,
        site: CallSite | None = None,
    ) -> T:
        """Run `call`, retrying transient failures. Raises the last classified error.

        `idempotent` (writes only): repeating the write is safe (it carries a ClientToken), so
        it may be retried even when an answer was lost."""
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except Interrupted:
                raise  # a signal is not a cloud answer: never classified, never retried
            except Exception as exc:  # classified just below
                error = classify(action, exc, write=write, idempotent=idempotent, site=site)
            wait = self._retry_wait(error, attempt, started, idempotent)
            if wait is None:
                if isinstance(error, NetworkError):
                    raise with_attempts(error, attempt, self.clock() - started)
                raise error
            if on_retry is not None:
                on_retry(error)
            self.sleep(wait)

    def _retry_wait(
        self, error: CloudCallError, attempt: int, started: float, idempotent: bool
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if isinstance(error, PermanentError) or attempt >= self.max_attempts:
            return None
        deadline = self.deadline
        if isinstance(error, NetworkError):
            if error.already_known or (error.outcome_unknown and not idempotent):
                return None
            if error.cause in TIMEOUTS and attempt >= self.timeout_attempts:
                return None
            if error.fail_fast:
                deadline = min(deadline, self.fail_fast_seconds)
        wait = self.delay(attempt, error.retry_after)
        if self.clock() - started + wait > deadline:
            return None
        return wait
