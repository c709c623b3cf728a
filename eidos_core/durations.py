"""Go-style durations (``30s``, ``1m30s``, ``500ms``) or plain seconds, for settings and flags."""

from __future__ import annotations

import re

from eidos_core.errors import InvalidRequestError

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(name: str, raw: str) -> float:
    """Seconds from ``30s`` / ``1m30s`` / ``250ms`` / ``30``; ``name`` is quoted in errors."""
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        pos, total = 0, 0.0
        for m in _PART.finditer(text):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
            pos = m.end()
        if pos != len(text) or not text:
            raise InvalidRequestError(f"{name}={raw!r}: not a duration (examples: 30s, 1m30s, 500ms, 10)") from None
        value = total
    if value < 0:
        raise InvalidRequestError(f"{name}={raw!r}: must not be negative")
    return value
