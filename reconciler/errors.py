"""The error tree. Retry meaning lives in the type: TransientError may be retried,
PermanentError never. Every message is safe to print: no secret, token or signature."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: errors imports nothing of the package at run time
    from reconciler.apply.results import ApplyResult


class ReconcilerError(Exception):
    """Base of every error the tool reports to the user (exit code 1, no traceback)."""


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a spec file, at the line and column of the offending node."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        # Line 0 means "the file as a whole" (a missing path, an empty folder): no position.
        if self.line <= 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class SpecError(ReconcilerError):
    """The spec files are invalid. Carries every problem found, sorted, not just the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(set(diagnostics))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class ObserveError(ReconcilerError):
    """Reading the cloud failed (after retries), so no plan can be trusted."""


class ApplyError(ReconcilerError):
    """A write failed or was refused during apply."""


class AccountApplyError(ApplyError):
    """One account's apply raised while the others applied (app/apply_accounts.py): they
    stopped starting writes, and `apply_result` is every account's outcome, so that the user
    sees what the others made."""

    def __init__(self, message: str, apply_result: ApplyResult) -> None:
        super().__init__(message)
        self.apply_result = apply_result


class Family(StrEnum):
    """What an error code means, independent of its exact spelling (cloud/retry.py classifies
    codes into families)."""

    THROTTLING = "throttling"
    UNAVAILABLE = "unavailable"
    BUSY = "busy"
    NOT_FOUND = "not-found"
    NOT_AUTHORIZED = "not-authorized"
    INVALID = "invalid"
    CONNECTION = "connection"
    TIMEOUT = "timeout"


class CloudCallError(ReconcilerError):
    """An API call answered with an error. `code` is the cloud's error code."""

    def __init__(
        self,
        action: str,
        code: str,
        message: str,
        status: int | None = None,
        request_id: str | None = None,
        *,
        family: Family | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.action = action
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.family = family
        """The code's family as classification found it; None for an error not classified
        from an answer (retry.family_of then derives it from the code)."""
        self.retry_after = retry_after
        """Seconds the server asked us to wait before trying again (its Retry-After), if any."""
        self.resource: str | None = None
        """What the call was about (an instance id, a key alias), set by the reader."""
        super().__init__(action, code, message)

    def __str__(self) -> str:
        about = f" of {self.resource}" if self.resource else ""
        request = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.action}{about}: {self.code}: {self.message}{request}"


class TransientError(CloudCallError):
    """Throttling, busy instance, 5xx, timeouts: worth retrying with backoff."""


class PermanentError(CloudCallError):
    """Not found, not authorised, invalid: retrying cannot help."""


class Interrupted(ReconcilerError):
    """SIGINT or SIGTERM arrived: no new cloud call is started after it (calls in flight may
    finish), and the command exits 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, signal_number: int) -> None:
        import signal

        self.signal_number = signal_number
        self.exit_code = 128 + signal_number
        try:
            self.signal_name = signal.Signals(signal_number).name
        except ValueError:
            self.signal_name = f"signal {signal_number}"
        self.apply_result: ApplyResult | None = None
        """What an interrupted apply had done: every change's outcome so far (None when the
        signal came outside apply's writes)."""
        super().__init__(f"interrupted by {self.signal_name}")

    def with_apply_result(self, result: ApplyResult) -> Interrupted:
        """This error, carrying apply's partial result (apply raises it after recording it)."""
        self.apply_result = result
        return self


class EndpointError(ReconcilerError):
    """A bad `--endpoint` value: a usage error (exit 1, one line saying what to write).
    Raised before any call is made."""


class NetworkError(TransientError):
    """No answer from the cloud: the endpoint could not be reached or did not answer in time.

    Never a fact about any resource. The message is complete for a user: it names the
    endpoint, the cause and the fix. `code` is our own client-side code (ConnectionRefused,
    HostNotFound, ConnectTimeout, ReadTimeout, ConnectionReset, BadAnswer, NetworkError);
    `endpoint` is HOST:PORT; `cause` says which; `outcome_unknown` is True when a write was
    sent and its answer lost, so it may have taken effect (it is then never repeated
    blindly); `fail_fast` is True when retrying cannot help (nothing, or something that is
    not the API, listens on a loopback endpoint; the host name does not resolve);
    `already_known` is True when no request was sent because an earlier call of this run had
    already found the endpoint unreachable that way (never retried)."""

    def __init__(
        self,
        action: str,
        code: str,
        message: str,
        *,
        endpoint: str,
        cause: str,
        outcome_unknown: bool = False,
        fail_fast: bool = False,
        already_known: bool = False,
    ) -> None:
        super().__init__(action, code, message)
        self.endpoint = endpoint
        self.cause = cause
        self.outcome_unknown = outcome_unknown
        self.fail_fast = fail_fast
        self.already_known = already_known
