"""Go-style durations (``30s``, ``1m30s``, ``500ms``) or plain seconds, for settings and flags;
and durations printed in one fixed unit, for tables."""

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


_NS_PER_UNIT = {"ns": 1, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


def format_in_unit(ns: int, unit: str) -> str:
    """``ns`` in one fixed unit (``0.0412ms``, ``90s``), exact, trailing zeros dropped.

    Tables print every duration of a column in the same unit so the values line up and compare
    at a glance; Go's text (``41.2µs``, ``1.5ms``) switches unit with the size.
    """
    if unit not in _NS_PER_UNIT:
        raise ValueError(f"unit {unit!r}: allowed units are {', '.join(_NS_PER_UNIT)}")
    per = _NS_PER_UNIT[unit]
    sign, magnitude = ("-" if ns < 0 else ""), abs(ns)
    whole, frac = divmod(magnitude, per)
    digits = len(str(per)) - 1
    tail = str(frac).rjust(digits, "0").rstrip("0") if digits else ""
    return f"{sign}{whole}{'.' + tail if tail else ''}{unit}"
