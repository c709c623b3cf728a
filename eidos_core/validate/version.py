"""Lenient versions as found in snapshots: ``v1.32.4-eks-3025e55``, ``6.8.0-1028-aws``, ``24.04``.

One leading ``v`` is dropped and everything from the first ``-``/``+`` that follows a digit is
ignored. One to three numeric components; the count is the *precision*. :func:`compare_versions`
only looks as deep as the less precise side (``1.33.5`` vs ``1.33`` is equal), while
:func:`versions_equal` compares all three components with missing ones as 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from eidos_core.errors import InvalidRequestError

# Quoting in messages follows Go's %q (double quotes), as the reference prints them.
# Go's strconv.Atoi: optional sign, ASCII digits, leading zeros allowed, must fit in int64.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int = 0
    patch: int = 0
    precision: int = 3
    extras: str = ""

    def __str__(self) -> str:
        return ".".join(str(n) for n in (self.major, self.minor, self.patch)[: self.precision]) + self.extras


def _extras_start(text: str) -> int:
    for i in range(1, len(text)):
        if text[i] in "-+" and text[i - 1] in "0123456789":
            return i
    return len(text)


def _component(part: str) -> int:
    if not part:
        raise InvalidRequestError("version component is not numeric: empty component")
    # The length check keeps int() away from huge digit strings (and Python's digit limit).
    number = int(part) if _INTEGER.fullmatch(part) and len(part) <= 24 else None
    if number is None or not _INT64_MIN <= number <= _INT64_MAX:
        raise InvalidRequestError(f"version component is not numeric: {json.dumps(part, ensure_ascii=False)}")
    if number < 0:
        raise InvalidRequestError(f"version component cannot be negative: {number}")
    return number


def parse_version(text: str) -> Version:
    if not text:
        raise InvalidRequestError("version string is empty")
    body = text[1:] if text.startswith("v") else text
    cut = _extras_start(body)
    main, extras = body[:cut], body[cut:]
    parts = main.split(".")
    if len(parts) > 3:
        raise InvalidRequestError(f"version has more than 3 components: {json.dumps(text, ensure_ascii=False)}")
    numbers = [_component(p) for p in parts]
    numbers += [0] * (3 - len(numbers))
    return Version(numbers[0], numbers[1], numbers[2], precision=len(parts), extras=extras)


def _sign(a: int, b: int) -> int:
    return (a > b) - (a < b)


def compare_versions(actual: Version, expected: Version) -> int:
    """-1, 0 or 1, comparing only the components both sides spell out."""
    depth = min(actual.precision, expected.precision)
    ours = (actual.major, actual.minor, actual.patch)[:depth]
    theirs = (expected.major, expected.minor, expected.patch)[:depth]
    for a, b in zip(ours, theirs, strict=True):
        if a != b:
            return _sign(a, b)
    return 0


def versions_equal(a: Version, b: Version) -> bool:
    """All three components equal, whatever the precision (``1.30`` equals ``v1.30.0``)."""
    return (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
