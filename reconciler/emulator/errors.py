"""The one error type of the emulator; `dispatch.error_body` turns it into the wire JSON."""

from __future__ import annotations


class ApiError(Exception):
    """An API answer with an error status: raised by handlers, models, auth and faults.

    `headers` go onto the HTTP answer (for example `x-acs-retry-after` on throttling).
    """

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


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
