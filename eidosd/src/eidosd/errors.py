"""The JSON error envelope: ``{code, message, details, requestId, timestamp, retryable}``.

Every error response of eidosd is built here, from an :class:`EidosError` or from one of
aiohttp's HTTP exceptions (unknown path, wrong method, body too large).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from eidos_core.errors import EidosError
from eidosd.keys import SETTINGS

JSON = "application/json"

# aiohttp's own HTTP errors mapped to envelope codes and whether a retry may help.
_HTTP_CODES: Mapping[int, tuple[str, bool]] = {
    400: ("INVALID_REQUEST", False),
    404: ("NOT_FOUND", False),
    405: ("METHOD_NOT_ALLOWED", False),
    408: ("REQUEST_TIMEOUT", True),
    413: ("PAYLOAD_TOO_LARGE", False),
    415: ("UNSUPPORTED_MEDIA_TYPE", False),
    429: ("RATE_LIMIT_EXCEEDED", True),
    503: ("SERVICE_UNAVAILABLE", True),
    504: ("TIMEOUT", True),
}


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    *,
    retryable: bool,
    details: Mapping[str, Any] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = dict(details)
    body["requestId"] = request_id
    body["timestamp"] = timestamp()
    body["retryable"] = retryable
    return web.Response(status=status, body=json.dumps(body).encode(), content_type=JSON)


def from_eidos_error(exc: EidosError, request_id: str) -> web.Response:
    return error_response(
        exc.http_status, exc.code, exc.message, request_id, retryable=exc.retryable, details=exc.details
    )


def from_http_exception(exc: web.HTTPException, request: web.Request, request_id: str) -> web.Response:
    code, retryable = _HTTP_CODES.get(exc.status, ("INTERNAL", exc.status >= 500))
    details: dict[str, Any] = {}
    message = exc.reason
    if exc.status == 404:
        message = f"no route for {request.path}"
        details["path"] = request.path
    elif exc.status == 405:
        allowed = sorted(getattr(exc, "allowed_methods", ()))
        message = f"method {request.method} is not allowed here (allowed: {', '.join(allowed)})"
        details = {"method": request.method, "allowed": allowed}
    elif exc.status == 413:
        message = f"request body is larger than {request.app[SETTINGS].max_body_bytes} bytes"
    response = error_response(exc.status, code, message, request_id, retryable=retryable, details=details)
    if "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]
    return response
