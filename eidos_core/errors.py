"""The one error hierarchy of Eidos.

Every error carries a stable ``code`` (the API error envelope's ``code``), an HTTP status and a
CLI exit code, so the server and the CLI translate errors the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar


class EidosError(Exception):
    """Base class. ``details`` is a small JSON-able mapping shown to users."""

    code: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 8
    retryable: ClassVar[bool] = True

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class InvalidRequestError(EidosError):
    """Bad user input: a flag, a query parameter, a request body, a criteria file."""

    code = "INVALID_REQUEST"
    http_status = 400
    exit_code = 2
    retryable = False


class CriteriaError(InvalidRequestError):
    """A criteria value outside its enum; names the field, the value and what is allowed.

    ``details.error`` is the reference's text for the same refusal (``invalid service type:
    windows``, ``invalid nodes value: abc``), for clients that read it; the message adds what
    is allowed."""

    def __init__(self, field: str, value: str, allowed: Sequence[str], *, text: str = "", error: str = "") -> None:
        message = text or (
            f"invalid {field} type: {value} (allowed: {', '.join(allowed)})" if allowed else f"invalid {field}: {value}"
        )
        details = {
            "field": field,
            "value": value,
            "allowed": list(allowed),
            "error": error or f"invalid {field} type: {value}",
        }
        super().__init__(message, details=details)
        self.field = field
        self.value = value
        self.allowed = tuple(allowed)


class NotFoundError(EidosError):
    code = "NOT_FOUND"
    http_status = 404
    exit_code = 3
    retryable = False


class ForbiddenError(EidosError):
    code = "FORBIDDEN"
    http_status = 403
    exit_code = 4
    retryable = False


class TimeoutExceededError(EidosError):
    code = "TIMEOUT"
    http_status = 504
    exit_code = 5
    retryable = True


class UnavailableError(EidosError):
    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    exit_code = 6
    retryable = True


class ValidationFailedError(EidosError):
    """Constraints evaluated against a snapshot did not hold."""

    code = "VALIDATION_FAILED"
    http_status = 422
    exit_code = 7
    retryable = False


class RecipeBuildError(InvalidRequestError):
    """The matched overlays could not be merged into a valid recipe."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in recipe data, located as precisely as we can."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class RecipeDataError(InvalidRequestError):
    """Recipe data (embedded, a directory or a ConfigMap) failed validation.

    Holds every problem found, so ``eidos-cli data validate`` can report them all at once.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("RecipeDataError needs at least one problem")
        self.problems = tuple(problems)
        first = str(self.problems[0])
        more = len(self.problems) - 1
        message = first if not more else f"{first} (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(
            message,
            details={"problems": [str(p) for p in self.problems]},
        )
