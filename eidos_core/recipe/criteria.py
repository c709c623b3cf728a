"""Criteria: the five dimensions a recipe is chosen by, their enums, aliases and allow-lists."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from eidos_core.codec import (
    Emit,
    FreeMapping,
    Header,
    Integer,
    Invalid,
    Kind,
    Nested,
    Reader,
    Text,
    decode,
    encode,
    wire,
)
from eidos_core.errors import CriteriaError, InvalidRequestError
from eidos_core.yaml import Scalar

ANY = "any"

SERVICES = ("aks", "eks", "gke", "oke")
ACCELERATORS = ("a100", "b200", "gb200", "gb300", "h100", "h200", "l40")
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

# Node counts beyond this are refused: no real cluster has more GPU nodes, and the bound keeps
# huge numbers (4,300+ digits) out of int() and out of cache keys.
MAX_NODES = 100_000
_NODES_TEXT = re.compile(r"([-+]?)([0-9]+)")  # ASCII digits only: int() would take "٤" and "1_0"


def aliases(field: str) -> tuple[str, ...]:
    """The other spellings ``field`` accepts besides its values and ``any`` (``""`` excluded)."""
    return tuple(a for a in _ALIASES[field] if a and a != ANY)


def accepted(field: str) -> tuple[str, ...]:
    """Every spelling an exact parse accepts: the values, ``any``, then the aliases (the API enum)."""
    return (*FIELDS[field], ANY, *aliases(field))


# The API takes values in any ASCII case with blanks around them (as the reference does); the
# OpenAPI document says exactly that with api_pattern(), so generated clients and the server agree.
API_BLANKS = " \t\n"


def api_pattern(field: str, *, empty: bool) -> str:
    """A regular expression (ECMA and Python) for exactly the spellings the API takes for ``field``:
    every accepted value in any ASCII case, blanks around it allowed; ``empty`` adds blank-only."""

    def fold(word: str) -> str:
        # Letters as [Xx]; the rest (digits, "-") stand for themselves, unescaped for ECMA's sake.
        assert re.fullmatch(r"[a-z0-9-]+", word), word
        return "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in word)

    words = "|".join(fold(w) for w in accepted(field))
    optional = "?" if empty else ""
    return f"^[ \\t\\n]*(?:{words}){optional}[ \\t\\n]*$"


def _invalid_field(field: str, text: str) -> CriteriaError:
    allowed = (*FIELDS[field], ANY)
    return CriteriaError(field, text, allowed, text=f"invalid {field} type: {text} (allowed: {', '.join(allowed)})")


def parse_field(field: str, raw: object, *, exact: bool = False) -> str:
    """Normalise one string dimension: canonical enum value or ``any``.

    Lenient (CLI flags, snapshots): any case, surrounding whitespace ignored. ``exact`` (the HTTP
    API and recipeCriteria documents): what :func:`api_pattern` documents — an accepted spelling
    in any ASCII case, blanks around it ignored, strings only — so the server accepts exactly what
    its OpenAPI document allows; ``""`` and ``None`` still mean ``any``.
    """
    if exact and raw is not None and not isinstance(raw, str):
        raise CriteriaError(field, _show(raw), (), text=f"invalid {field} type: {_show(raw)} (must be a string)")
    text = "" if raw is None else str(raw)
    if exact:
        stripped = text.strip(API_BLANKS)
        # ASCII only: str.lower() would turn the Kelvin sign into k, which the pattern does not.
        value = stripped.lower() if stripped.isascii() else stripped
    else:
        value = text.strip().lower()
    alias = _ALIASES[field].get(value)
    if alias is not None:
        return alias
    if value in FIELDS[field]:
        return value
    raise _invalid_field(field, text)


def _show(raw: object) -> str:
    """``raw`` for an error message, cut short; never str() of a huge int (that raises)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) >= 10**40:
        return f"{'-' if raw < 0 else ''}(an integer of {raw.bit_length()} bits)"
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    return text if len(text) <= 40 else text[:40] + "..."


def parse_nodes(raw: object) -> int:
    """Node count: an integer 0..MAX_NODES (0 means any), or its decimal text (``+4`` allowed).

    Everything else is refused, floats included (``0.5``, ``1e3``, ``4.0``) and text that merely
    starts with digits (``4abc``): the API documents ``nodes`` as an integer, and a count that
    was silently truncated would resolve a different recipe than the caller asked for.
    """
    if raw is None or raw == "":
        return 0
    if isinstance(raw, str):
        m = _NODES_TEXT.fullmatch(raw)
        if not m:
            raise CriteriaError(
                "nodes", _show(raw), (), text=f"invalid nodes value: {_show(raw)} (must be an integer >= 0)",
                error=f"invalid nodes value: {_show(raw)}",
            )  # fmt: skip
        digits = m.group(2).lstrip("0") or "0"
        if len(digits) > len(str(MAX_NODES)):  # decided on the text: no int() of 5,000 digits
            raise CriteriaError(
                "nodes", _show(raw), (), text=f"invalid nodes count: {_show(raw)} (must be <= {MAX_NODES})",
                error=f"invalid nodes count: {_show(raw)} (must be <= {MAX_NODES})",
            )  # fmt: skip
        n = -int(digits) if m.group(1) == "-" else int(digits)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        n = raw
    else:
        raise CriteriaError(
            "nodes", _show(raw), (), text=f"invalid nodes value: {_show(raw)} (must be an integer >= 0)",
            error=f"invalid nodes value: {_show(raw)}",
        )  # fmt: skip
    if n < 0:
        count = f"invalid nodes count: {_show(n)} (must be >= 0)"
        raise CriteriaError("nodes", _show(n), (), text=count, error=count)
    if n > MAX_NODES:
        count = f"invalid nodes count: {_show(n)} (must be <= {MAX_NODES})"
        raise CriteriaError("nodes", _show(n), (), text=count, error=count)
    return n


class CriteriaValue(Kind):
    """A criteria field as recipe data and recipeResult documents hold it: any case, blanks
    ignored (:func:`parse_field`), the canonical value kept."""

    default = ANY

    def __init__(self, field: str) -> None:
        self.field = field

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        text = Text().read(reader, raw, path)
        try:
            return parse_field(self.field, text)
        except CriteriaError:
            allowed = ", ".join((*FIELDS[self.field], ANY))
            raise Invalid(f"invalid value {text!r} (allowed: {allowed})") from None

    def empty(self, value: Any) -> bool:
        return False

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": [*FIELDS[self.field], ANY]}


def _criteria_field(field: str) -> Any:
    return wire(field, CriteriaValue(field), emit=Emit.ALWAYS)


@dataclass(frozen=True, slots=True)
class Criteria:
    """A normalised query. Every string field is a canonical value or ``any``; nodes 0 = any.

    Also the ``criteria`` of recipe data overlays and recipeResult documents (nodes written
    only when set, so it is at least 1 there).
    """

    SCHEMA_NAME: ClassVar[str] = "ResultCriteria"

    service: str = _criteria_field("service")
    accelerator: str = _criteria_field("accelerator")
    intent: str = _criteria_field("intent")
    os: str = _criteria_field("os")
    nodes: int = wire("nodes", Integer(0, MAX_NODES), schema={"minimum": 1})

    @property
    def specificity(self) -> int:
        """Fields that are not ``any`` (+1 when nodes is set); omitted fields do not count."""
        score = sum(1 for v in (self.service, self.accelerator, self.intent, self.os) if v != ANY)
        return score + (1 if self.nodes else 0)

    def key(self) -> tuple[str, str, str, str, int]:
        return (self.service, self.accelerator, self.intent, self.os, self.nodes)

    def to_dict(self) -> dict[str, Any]:
        """The ``criteria`` block of a recipe document (nodes omitted when 0)."""
        return encode(self)

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
    *,
    gpu: object = None,
    exact: bool = False,
) -> Criteria:
    """Parse raw values (query parameters, flags, file fields); the first bad one raises.

    ``gpu`` is the alias of ``accelerator``, used when ``accelerator`` is absent or empty; it is
    checked either way, so a bad ``gpu`` is an error even beside a good ``accelerator``.
    """
    parsed_service = parse_field("service", service, exact=exact)
    parsed_accelerator = parse_field("accelerator", accelerator, exact=exact)
    parsed_gpu = parse_field("accelerator", gpu, exact=exact)
    return Criteria(
        service=parsed_service,
        accelerator=parsed_accelerator if accelerator not in (None, "") else parsed_gpu,
        intent=parse_field("intent", intent, exact=exact),
        os=parse_field("os", os, exact=exact),
        nodes=parse_nodes(nodes),
    )


CRITERIA_KIND = "recipeCriteria"

# What each field of a recipeCriteria document (and the API's query parameters) means.
DESCRIPTIONS: Mapping[str, str] = {
    "service": "Kubernetes service (self-managed, self, vanilla = any).",
    "accelerator": "GPU type.",
    "gpu": "Alias of accelerator (used when accelerator is absent or empty).",
    "intent": "Workload intent.",
    "os": "Node operating system (al2, al2023, amzn = amazonlinux).",
    "nodes": "GPU node count; 0 = any.",
}


def one_of(field: str) -> str:
    """The spellings the API takes for ``field``, for a description."""
    return f" One of {', '.join(accepted(field))}; any ASCII case, blanks around it ignored."


class ApiCriteriaValue(Kind):
    """A criteria field of a recipeCriteria document, exactly as the OpenAPI document describes
    it (:func:`api_pattern`): a string, an accepted spelling in any ASCII case, blanks around it
    ignored; null is absent (``None``), an empty string an error."""

    def __init__(self, field: str, key: str) -> None:
        self.field = field
        self.key = key

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        value = raw.value if isinstance(raw, Scalar) else raw
        if isinstance(value, str) and not value.strip(API_BLANKS):
            raise Invalid(f"invalid {self.key} value: empty string (omit the field or use null for any)")
        try:
            return parse_field(self.field, value, exact=True)
        except CriteriaError as exc:
            raise Invalid(exc.message) from None

    def empty(self, value: Any) -> bool:
        return value is None

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": api_pattern(self.field, empty=False)}


class ApiNodes(Kind):
    """``nodes`` of a recipeCriteria document: a JSON/YAML integer (not ``"4"``), 0..MAX_NODES."""

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        value = raw.value if isinstance(raw, Scalar) else raw
        if isinstance(value, str):
            if not value.strip(API_BLANKS):
                raise Invalid("invalid nodes value: empty string (omit the field or use null for any)")
            raise Invalid(f"invalid nodes value: {_show(value)!r} (must be an integer >= 0)")
        try:
            return parse_nodes(value)
        except CriteriaError as exc:
            raise Invalid(exc.message) from None

    def empty(self, value: Any) -> bool:
        return value is None

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": 0, "maximum": MAX_NODES}


def _spec_field(field: str, key: str = "") -> Any:
    key = key or field
    return wire(
        key,
        ApiCriteriaValue(field, key),
        description=DESCRIPTIONS[key] + one_of(field) + " null = any.",
        example=FIELDS[field][0],
    )


@dataclass(frozen=True, slots=True)
class CriteriaSpec:
    """The ``spec`` of a recipeCriteria document; ``None`` is a field left out (or null)."""

    service: str | None = _spec_field("service")
    accelerator: str | None = _spec_field("accelerator")
    gpu: str | None = _spec_field("accelerator", "gpu")
    intent: str | None = _spec_field("intent")
    os: str | None = _spec_field("os")
    nodes: int | None = wire(
        "nodes", ApiNodes(), description=DESCRIPTIONS["nodes"] + " A JSON/YAML integer; null = any."
    )


@dataclass(frozen=True, slots=True)
class CriteriaDocument:
    """A ``recipeCriteria`` document (criteria file, POST body), read exactly as the OpenAPI
    ``RecipeCriteria`` schema describes it: kind/apiVersion optional but exact when present,
    ``metadata`` a mapping (its contents ignored), ``spec`` fields documented spellings,
    ``nodes`` an integer; ``null`` anywhere means "absent"; unknown fields are errors."""

    HEADER: ClassVar[Header] = Header(CRITERIA_KIND, strict=True, empty_ok=True)
    SCHEMA_NAME: ClassVar[str] = "RecipeCriteria"

    metadata: Mapping[str, Any] = wire("metadata", FreeMapping(), emit=Emit.NEVER, description="Ignored.")
    spec: CriteriaSpec = wire("spec", Nested(CriteriaSpec))

    def criteria(self) -> Criteria:
        """``gpu`` stands in for an absent ``accelerator``."""
        s = self.spec
        accelerator = s.accelerator if s.accelerator is not None else s.gpu
        return Criteria(s.service or ANY, accelerator or ANY, s.intent or ANY, s.os or ANY, s.nodes or 0)


def criteria_from_document(doc: object, *, source: str = "criteria") -> Criteria:
    """The criteria of a ``recipeCriteria`` document (``None`` is all any); the first problem
    raises :class:`InvalidRequestError` naming the field."""
    return decode(CriteriaDocument, doc, source=source).criteria()


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
