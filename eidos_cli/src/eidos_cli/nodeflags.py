"""Node selector and toleration flags, one syntax for ``snapshot --deploy-agent`` and ``bundle``.

Selectors are ``key=value`` (the value may contain ``=``); tolerations ``key=value:effect``
(operator Equal) or ``key:effect`` (operator Exists), effect one of Kubernetes' three; ``:``
alone is "tolerate every taint" (``{operator: Exists}``). What no flag means is the caller's:
the snapshot agent tolerates every taint (it must reach any GPU node), a bundle does not
(see ``eidos_cli.bundle.scheduling``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from eidos_core.errors import InvalidRequestError

TOLERATE_ALL: tuple[Mapping[str, str], ...] = ({"operator": "Exists"},)
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def parse_selectors(entries: Iterable[str], *, flag: str) -> dict[str, str]:
    """``key=value`` pairs; a repeated key keeps its last value. Values stay strings."""
    out: dict[str, str] = {}
    for entry in entries:
        key, equals, value = entry.partition("=")
        if not equals:
            raise InvalidRequestError(f"invalid {flag}: invalid format {entry!r}, expected key=value")
        if not key.strip():
            raise InvalidRequestError(f"invalid {flag}: {entry!r} has an empty key")
        out[key.strip()] = value.strip()
    return out


def parse_toleration(entry: str, *, flag: str) -> dict[str, str]:
    parts = entry.split(":")
    if len(parts) != 2:
        raise InvalidRequestError(f"invalid {flag}: invalid format {entry!r}, expected key=value:effect or key:effect")
    head, effect = parts[0].strip(), parts[1].strip()
    if effect and effect not in EFFECTS:
        raise InvalidRequestError(
            f"invalid {flag}: {entry!r}: unknown effect {effect!r} (allowed: {', '.join(EFFECTS)})"
        )
    key, equals, value = head.partition("=")
    key, value = key.strip(), value.strip()
    toleration = {"key": key, "operator": "Equal" if equals and value else "Exists", "value": value, "effect": effect}
    # Empty fields are left out, as Kubernetes' own defaulting would leave them.
    return {k: v for k, v in toleration.items() if v}


def parse_tolerations(entries: Iterable[str], *, flag: str) -> tuple[Mapping[str, str], ...]:
    """Every entry parsed, in order; empty when no flag was given (the caller picks the default)."""
    return tuple(parse_toleration(entry, flag=flag) for entry in entries)
