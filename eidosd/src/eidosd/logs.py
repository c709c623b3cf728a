"""JSON logs on stderr, one object per line, with the current request id in every line; and
the rate-limited WARNING lines for faults a client can cause at will."""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from collections.abc import Callable

from aiohttp.http import HttpProcessingError
from aiohttp.web import RequestPayloadError

from eidos_core.logs import JsonLines

# Set by the request pipeline; each aiohttp request runs in its own task, so the value
# follows the request through every await.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        rid = request_id_var.get()
        if rid is not None and not hasattr(record, "request_id"):
            record.request_id = rid
        return True


def configure_logging(level: int, stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonLines("eidosd"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's own access log is replaced by ours (one line per request, with the request id).
    logging.getLogger("aiohttp.access").disabled = True


class RateLimitedWarnings:
    """At most one WARNING line per key per ``interval`` seconds; the line says how many
    like it were suppressed since the last one. For events a client can cause at will."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str, **extra: object) -> bool:
        """Log unless ``key`` was logged within the interval; True when a line was written."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        suppressed = self._suppressed.pop(key, 0)
        self.logger.warning(message, extra={**extra, "suppressed": suppressed})
        return True


class ClientFaultFilter(logging.Filter):
    """On aiohttp's ``aiohttp.server`` logger: turns its ERROR-with-traceback records about
    client faults into ``on_fault(reason, detail)`` calls and drops them.

    aiohttp answers malformed HTTP itself (plain-text 400 from ``RequestHandler.handle_error``,
    which has no public hook for the body) and logs it with a traceback; after a response it
    also logs the client's unreadable rest of the body ("Unhandled exception") and hang-ups.
    Other records (a real server error) pass unchanged.
    """

    def __init__(self, on_fault: Callable[[str, str], None]) -> None:
        super().__init__()
        self._on_fault = on_fault

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return record.levelno >= logging.getLogger().getEffectiveLevel()
        if isinstance(exc, HttpProcessingError):
            # The parser refused the request line or headers (or the body framing).
            self._on_fault("malformed_http", f"{exc.code} {exc.message}".strip())
            return False
        if isinstance(exc, RequestPayloadError | ConnectionError):
            # Already answered and counted by the pipeline; this is aiohttp draining or
            # discarding the rest of that body, or a client gone before its response.
            return False
        # The logger is set to DEBUG so that aiohttp's debug-level record of non-HTTP bytes
        # reaches this filter; anything else keeps the level the root logger asks for.
        return record.levelno >= logging.getLogger().getEffectiveLevel()

    def install(self, logger: logging.Logger) -> Callable[[], None]:
        """Attach to ``logger`` (aiohttp.server); returns the function that detaches it."""
        level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addFilter(self)

        def uninstall() -> None:
            logger.removeFilter(self)
            logger.setLevel(level)

        return uninstall
