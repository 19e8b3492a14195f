"""The emulator's errors: `ApiError` is a wire answer (`dispatch.error_answer` formats it);
`EmulatorSetupError` and `EmulatorStateError` stop an emulator from starting, with one line
that says what to do (the CLI prints it; they are ValueErrors, so older callers still catch
them)."""

from __future__ import annotations


class ApiError(Exception):
    """An API answer with an error status: raised by handlers, models, auth and faults.

    `headers` go onto the HTTP answer (for example `x-acs-retry-after` on throttling); `extra`
    are fields added to the JSON error body beside Code and Message (`AccessDeniedDetail`).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def missing_parameter(name: str) -> ApiError:
    return ApiError(
        400,
        "MissingParameter",
        f"The input parameter {name} that is mandatory "
        "for processing this request is not supplied.",
    )


def invalid_parameter(name: str, detail: str = "") -> ApiError:
    suffix = f": {detail}" if detail else "."
    return ApiError(400, "InvalidParameter", f"The specified parameter {name} is not valid{suffix}")


class EmulatorSetupError(ValueError):
    """The emulator cannot start as asked (a non-loopback host, a port in use, a bad setting).
    The message is one line for the user, without a traceback."""


class EmulatorStateError(EmulatorSetupError):
    """The state path cannot be used: a directory, a missing folder, an unreadable file, a
    file that is not an emulator state file. The file is left as it was."""
