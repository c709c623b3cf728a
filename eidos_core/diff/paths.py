"""Documents as flat maps of path → value, their comparison, and ``--ignore`` patterns.

Paths join levels with ``/`` (``K8s/server/version``, ``componentRefs/gpu-operator/version``);
Helm values below ``values/`` (or ``overrides/``) are one dotted path (``driver.kernelModuleConfig.name``), a
``.`` inside a key written ``\\.`` as ``helm --set`` does. A list is one value: Helm replaces
lists whole, so a changed item is the list changed.

An ignore pattern is a shell glob (``*`` crosses ``/`` and ``.``; case matters) that matches a
change's path or any of its ``/``-ancestors, so ``metadata`` covers ``metadata/timestamp``.
``.`` and ``/`` are interchangeable in both (``metadata.*`` covers ``metadata/timestamp``).
A pattern is refused when it is empty or has a ``[`` that no ``]`` closes: :mod:`fnmatch` would
take that ``[`` as a literal character and the pattern would quietly match almost nothing
(``[[]`` is the way to match a literal ``[``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from eidos_core.diff.model import Change, ChangeKind
from eidos_core.errors import InvalidRequestError

Flat = dict[str, Any]
Same = Callable[[Any, Any], bool]


def escape_key(key: object) -> str:
    """A mapping key as one segment of a dotted values path."""
    return str(key).replace("\\", "\\\\").replace(".", "\\.")


def flatten_values(values: Mapping[Any, Any], prefix: str = "") -> Flat:
    """Leaves of nested mappings by dotted path; an empty mapping is a leaf (``{}``), a list too."""
    flat: Flat = {}
    for key, value in values.items():
        path = f"{prefix}.{escape_key(key)}" if prefix else escape_key(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten_values(value, path))
        else:
            flat[path] = value
    return flat


def same_value(a: Any, b: Any) -> bool:
    """Equal and of the same type, all the way down: to Helm ``1``, ``1.0``, ``"1"`` and ``true``
    are different values (Python's ``True == 1`` is not what a chart sees)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def compare(old: Flat, new: Flat, *, same: Same = same_value) -> list[Change]:
    """Every path whose value differs, is only in ``old`` (removed) or only in ``new`` (added)."""
    changes: list[Change] = []
    for path, value in old.items():
        if path not in new:
            changes.append(Change(path, ChangeKind.REMOVED, old=value))
        elif not same(value, new[path]):
            changes.append(Change(path, ChangeKind.CHANGED, old=value, new=new[path]))
    changes.extend(Change(path, ChangeKind.ADDED, new=value) for path, value in new.items() if path not in old)
    return changes


def _candidates(path: str) -> Iterator[str]:
    """The path and each of its ``/``-ancestors."""
    yield path
    for i, char in enumerate(path):
        if char == "/" and i:
            yield path[:i]


def _dotted(text: str) -> str:
    return text.replace("/", ".")


def unclosed_bracket(pattern: str) -> int | None:
    """The index of the first ``[`` that opens no set, as :func:`fnmatch.translate` reads sets
    (a ``!`` right after ``[`` negates, a ``]`` right after ``[`` or ``[!`` is a member), or ``None``."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            close = pattern.find("]", j)
            if close < 0:
                return i
            i = close
        i += 1
    return None


def check_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """The patterns, each trimmed; an empty one or one with an unclosed ``[`` is refused (each
    would match nothing, silently)."""
    checked = tuple(p.strip() for p in patterns)
    for pattern in checked:
        if not pattern:
            raise InvalidRequestError(
                "--ignore: empty pattern (give a glob such as 'metadata/*' or '*/timestamp')",
                details={"field": "ignore", "value": pattern},
            )
        at = unclosed_bracket(pattern)
        if at is not None:
            raise InvalidRequestError(
                f"--ignore {pattern!r}: '[' at position {at + 1} is not closed by ']' "
                "(a set such as [0-9]; '[[]' matches a literal '[')",
                details={"field": "ignore", "value": pattern, "position": at + 1},
            )
    return checked


def is_ignored(path: str, patterns: Sequence[str]) -> bool:
    for candidate in _candidates(path):
        for pattern in patterns:
            if fnmatchcase(candidate, pattern) or fnmatchcase(_dotted(candidate), _dotted(pattern)):
                return True
    return False


def drop_ignored(changes: Sequence[Change], patterns: Sequence[str]) -> tuple[list[Change], int]:
    """The changes no pattern matches, and how many were left out."""
    kept = [c for c in changes if not is_ignored(c.path, patterns)]
    return kept, len(changes) - len(kept)
