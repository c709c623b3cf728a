"""Criteria: the five dimensions a recipe is chosen by, their enums, aliases and allow-lists."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eidos_core import API_VERSION
from eidos_core.errors import CriteriaError, InvalidRequestError

ANY = "any"

SERVICES = ("aks", "eks", "gke", "oke")
ACCELERATORS = ("a100", "gb200", "h100", "l40")
INTENTS = ("inference", "training")
OS_TYPES = ("amazonlinux", "cos", "rhel", "ubuntu")

# The string dimensions in the order errors are reported (service, accelerator, intent, os).
FIELDS: Mapping[str, tuple[str, ...]] = {
    "service": SERVICES,
    "accelerator": ACCELERATORS,
    "intent": INTENTS,
    "os": OS_TYPES,
}

_ALIASES: Mapping[str, Mapping[str, str]] = {
    "service": {"": ANY, ANY: ANY, "self-managed": ANY, "self": ANY, "vanilla": ANY},
    "accelerator": {"": ANY, ANY: ANY},
    "intent": {"": ANY, ANY: ANY},
    "os": {"": ANY, ANY: ANY, "al2": "amazonlinux", "al2023": "amazonlinux", "amzn": "amazonlinux"},
}

_LEADING_INT = re.compile(r"\s*([-+]?\d+)")


def parse_field(field: str, raw: object) -> str:
    """Normalise one string dimension: canonical enum value or ``any``."""
    allowed = FIELDS[field]
    text = "" if raw is None else str(raw)
    value = text.strip().lower()
    alias = _ALIASES[field].get(value)
    if alias is not None:
        return alias
    if value in allowed:
        return value
    raise CriteriaError(
        field, text, (*allowed, ANY), text=f"invalid {field} type: {text} (allowed: {', '.join((*allowed, ANY))})"
    )


def parse_nodes(raw: object) -> int:
    """Node count: an integer >= 0 (0 means any). Strings use a leading-integer parse."""
    if raw is None or raw == "":
        return 0
    if isinstance(raw, bool):
        raise CriteriaError("nodes", str(raw).lower(), (), text=f"invalid nodes value: {str(raw).lower()}")
    if isinstance(raw, int):
        n = raw
    elif isinstance(raw, float) and raw.is_integer():
        n = int(raw)
    else:
        m = _LEADING_INT.match(str(raw))
        if not m:
            raise CriteriaError("nodes", str(raw), (), text=f"invalid nodes value: {raw} (must be an integer >= 0)")
        n = int(m.group(1))
    if n < 0:
        raise CriteriaError("nodes", str(n), (), text=f"invalid nodes count: {n} (must be >= 0)")
    return n


@dataclass(frozen=True, slots=True)
class Criteria:
    """A normalised query. Every string field is a canonical value or ``any``; nodes 0 = any."""

    service: str = ANY
    accelerator: str = ANY
    intent: str = ANY
    os: str = ANY
    nodes: int = 0

    @property
    def specificity(self) -> int:
        """Fields that are not ``any`` (+1 when nodes is set): design.md §3.1."""
        score = sum(1 for v in (self.service, self.accelerator, self.intent, self.os) if v != ANY)
        return score + (1 if self.nodes else 0)

    def key(self) -> tuple[str, str, str, str, int]:
        return (self.service, self.accelerator, self.intent, self.os, self.nodes)

    def to_dict(self) -> dict[str, Any]:
        """The ``criteria`` block of a recipe document (nodes omitted when 0)."""
        out: dict[str, Any] = {
            "service": self.service,
            "accelerator": self.accelerator,
            "intent": self.intent,
            "os": self.os,
        }
        if self.nodes:
            out["nodes"] = self.nodes
        return out

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.to_dict().items() if v != ANY]
        return f"criteria({', '.join(parts) or 'any'})"

    def replace(self, **changes: Any) -> Criteria:
        """A copy with the given fields re-parsed (CLI flags over a snapshot, say)."""
        fields: dict[str, str] = {
            "service": self.service,
            "accelerator": self.accelerator,
            "intent": self.intent,
            "os": self.os,
        }
        nodes = self.nodes
        for name, raw in changes.items():
            if raw is None:
                continue
            if name == "nodes":
                nodes = parse_nodes(raw)
            else:
                fields[name] = parse_field(name, raw)
        return Criteria(nodes=nodes, **fields)


def parse_criteria(
    service: object = None,
    accelerator: object = None,
    intent: object = None,
    os: object = None,
    nodes: object = None,
) -> Criteria:
    """Parse raw values (query parameters, flags, file fields); the first bad one raises."""
    return Criteria(
        service=parse_field("service", service),
        accelerator=parse_field("accelerator", accelerator),
        intent=parse_field("intent", intent),
        os=parse_field("os", os),
        nodes=parse_nodes(nodes),
    )


CRITERIA_KIND = "recipeCriteria"
_SPEC_KEYS = ("service", "accelerator", "gpu", "intent", "os", "nodes")


def criteria_from_document(doc: object, *, source: str = "criteria") -> Criteria:
    """A ``recipeCriteria`` document (criteria file, POST body). kind/apiVersion optional."""
    if doc is None:
        return Criteria()
    if not isinstance(doc, Mapping):
        raise InvalidRequestError(f"{source}: expected a recipeCriteria mapping, got {type(doc).__name__}")
    kind = doc.get("kind")
    if kind not in (None, "", CRITERIA_KIND):
        raise InvalidRequestError(f"{source}: kind must be {CRITERIA_KIND!r}, got {kind!r}", details={"field": "kind"})
    api = doc.get("apiVersion")
    if api not in (None, "", API_VERSION):
        raise InvalidRequestError(
            f"{source}: apiVersion must be {API_VERSION!r}, got {api!r}", details={"field": "apiVersion"}
        )
    unknown = sorted(set(doc) - {"kind", "apiVersion", "metadata", "spec"})
    if unknown:
        raise InvalidRequestError(
            f"{source}: unknown field {unknown[0]!r} (allowed: kind, apiVersion, metadata, spec)",
            details={"field": unknown[0]},
        )
    spec = doc.get("spec")
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise InvalidRequestError(f"{source}: spec must be a mapping", details={"field": "spec"})
    unknown = sorted(str(k) for k in set(spec) - set(_SPEC_KEYS))
    if unknown:
        raise InvalidRequestError(
            f"{source}: unknown field spec.{unknown[0]} (allowed: {', '.join(_SPEC_KEYS)})",
            details={"field": f"spec.{unknown[0]}"},
        )
    accelerator = spec.get("accelerator") or spec.get("gpu")
    return parse_criteria(spec.get("service"), accelerator, spec.get("intent"), spec.get("os"), spec.get("nodes"))


ALLOWLIST_ENV = {
    "service": "EIDOS_ALLOWED_SERVICES",
    "accelerator": "EIDOS_ALLOWED_ACCELERATORS",
    "intent": "EIDOS_ALLOWED_INTENTS",
    "os": "EIDOS_ALLOWED_OS",
}


class CriteriaNotAllowedError(InvalidRequestError):
    def __init__(self, field: str, requested: str, allowed: tuple[str, ...]) -> None:
        label = "OS" if field == "os" else field
        super().__init__(
            f"{label} type not allowed: {requested} (allowed: {', '.join(allowed)})",
            details={"field": field, "requested": requested, "allowed": list(allowed)},
        )


@dataclass(frozen=True, slots=True)
class AllowLists:
    """Per-dimension allow-lists for the API; an empty tuple means unrestricted."""

    service: tuple[str, ...] = ()
    accelerator: tuple[str, ...] = ()
    intent: tuple[str, ...] = ()
    os: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.service or self.accelerator or self.intent or self.os)

    def check(self, criteria: Criteria) -> None:
        """Raise :class:`CriteriaNotAllowedError` for the first disallowed value; ``any`` passes."""
        for field in ("accelerator", "service", "intent", "os"):
            allowed: tuple[str, ...] = getattr(self, field)
            value: str = getattr(criteria, field)
            if allowed and value != ANY and value not in allowed:
                raise CriteriaNotAllowedError(field, value, allowed)


def parse_allowlists(env: Mapping[str, str]) -> AllowLists:
    """Read ``EIDOS_ALLOWED_*`` (the reference's ``Eidos_ALLOWED_*`` spelling also works)."""
    lists: dict[str, tuple[str, ...]] = {}
    for field, var in ALLOWLIST_ENV.items():
        legacy = "Eidos" + var[len("EIDOS") :]
        raw = env.get(var, env.get(legacy, ""))
        items: list[str] = []
        for item in raw.split(","):
            if not item.strip():
                continue
            try:
                value = parse_field(field, item)
            except CriteriaError as exc:
                raise InvalidRequestError(f"invalid {var}: {exc.message}", details={"field": var}) from None
            if value != ANY and value not in items:
                items.append(value)
        lists[field] = tuple(items)
    return AllowLists(**lists)
