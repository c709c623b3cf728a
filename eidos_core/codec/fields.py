"""Field declarations: what a wire key holds, and how it is read, written, merged and described.

A document's table is its dataclass: each attribute is declared with :func:`wire`, which keeps
a :class:`Spec` in the field's metadata — the wire key, the value's :class:`Kind`, whether it is
required, when it is written (:class:`Emit`), how overlays merge it (:class:`Merge`), its
authoring checks and its description. :mod:`eidos_core.codec.record` derives decoding,
encoding, merging and the JSON schema from those specs, so a new field is one declaration.

Kinds convert one value. A scalar kind raises :class:`Invalid` with the message only; the
record reader adds the source, the field path and the line. Container kinds (lists, nested
records) read their items through the same reader, so an item's problem names its index.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from eidos_core.codec.reader import Reader, describe, is_null
from eidos_core.yaml import Scalar, plain

if TYPE_CHECKING:
    from eidos_core.codec.record import Record

SPEC = "eidos_core.codec"  # the dataclass field metadata key holding a field's Spec
_STRUCTURE = ("items", "properties", "additionalProperties")
_READINGS = frozenset({str, int, float, bool})
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class Invalid(Exception):
    """A value of the wrong shape or outside its range; the message only, the reader locates it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Missing:
    """What reading gives for a value that had a problem (the field's default is used)."""


MISSING = Missing()


def scalar_text(value: Any) -> str:
    """A scalar as text, Go's ``%v`` for numbers and booleans (``true``, ``24.04``, ``+Inf``)."""
    if isinstance(value, Scalar):  # raw mode: the literal text (``1.10`` stays ``1.10``)
        return "" if value.value is None else value.text
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if value is None:
        return "<nil>"
    return str(value)


class Kind:
    """How one value travels. Subclasses set ``default`` (or override :meth:`make_default`).

    ``plain_write``: :meth:`write` returns the value itself; ``falsy_empty``: :meth:`empty` is
    ``not value`` (both let the encoder skip a call per field)."""

    default: Any = None
    plain_write = False
    falsy_empty = False

    def make_default(self) -> Any:
        return self.default

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        """The value of non-null ``raw``; raise :class:`Invalid`, or report through ``reader``
        and return :data:`MISSING`."""
        raise NotImplementedError

    def write(self, value: Any) -> Any:
        return value

    def empty(self, value: Any) -> bool:
        """Unset: not written by ``Emit.IF_SET``, replaced by ``Merge.REPLACE``."""
        return not value

    def missing(self, value: Any) -> bool:
        """What a required field must not be."""
        return self.empty(value)

    def schema(self) -> dict[str, Any]:
        """The JSON schema (OpenAPI 3.0) fragment of a written value."""
        return {}


class Text(Kind):
    """A string. Any scalar is taken as its text (go-yaml decodes scalars into string fields);
    ``line`` refuses line breaks and control characters (names, versions and URLs end up in file
    names and Chart.yaml lines, where they could forge content); ``strip`` trims blanks."""

    default: Any = ""
    plain_write = True
    falsy_empty = True

    def __init__(self, *, line: bool = True, strip: bool = False) -> None:
        self.line = line
        self.strip = strip

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        value = raw.value if isinstance(raw, Scalar) else raw
        if isinstance(value, Mapping | list) or (isinstance(value, float) and not math.isfinite(value)):
            raise Invalid(f"must be a string, got {describe(raw)}")
        text = scalar_text(raw)
        if self.line and _CONTROL.search(text):
            raise Invalid("must be a single line without control characters")
        return text.strip() if self.strip else text

    def missing(self, value: Any) -> bool:
        return not value or not value.strip()

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}


class OptionalText(Text):
    """Text where null (absent) and ``""`` differ: ``None`` when absent, written when not None."""

    default = None
    falsy_empty = False

    def empty(self, value: Any) -> bool:
        return value is None

    def missing(self, value: Any) -> bool:
        return value is None


class Const(Text):
    """A fixed string (a document's ``kind`` or ``apiVersion``); ``fold_case`` also takes it in
    another case (older reference builds wrote ``RecipeResult``)."""

    def __init__(self, value: str, *, fold_case: bool = False) -> None:
        super().__init__()
        self.value = value
        self.fold_case = fold_case
        self.default = value

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        text = super().read(reader, raw, path)
        same = text.lower() == self.value.lower() if self.fold_case else text == self.value
        if not same:
            raise Invalid(f"must be {self.value!r}, got {text!r}")
        return self.value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": [self.value]}


class Integer(Kind):
    """An integer (not a boolean, not a float, not text) between ``low`` and ``high``."""

    default = 0
    plain_write = True
    falsy_empty = True

    def __init__(self, low: int = 0, high: int | None = None) -> None:
        self.low = low
        self.high = high

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        value = raw.value if isinstance(raw, Scalar) else raw
        bounds = f"an integer >= {self.low}" + (f" and <= {self.high}" if self.high is not None else "")
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"must be {bounds}, got {describe(raw)}")
        if value < self.low or (self.high is not None and value > self.high):
            raise Invalid(f"must be {bounds}")
        return value

    def empty(self, value: Any) -> bool:
        return bool(value == 0)

    def missing(self, value: Any) -> bool:
        return False

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer", "minimum": self.low}
        if self.high is not None:
            out["maximum"] = self.high
        return out


class Choice(Kind):
    """One member of a string enum, written as its value."""

    def __init__(self, enum: type[StrEnum]) -> None:
        self.enum = enum
        self.default = next(iter(enum))

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        text = Text().read(reader, raw, path)
        try:
            return self.enum(text)
        except ValueError:
            raise Invalid(f"must be one of {', '.join(self.enum)}, got {text!r}") from None

    def write(self, value: Any) -> Any:
        return str(value)

    def empty(self, value: Any) -> bool:
        return False

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": [str(m) for m in self.enum]}


class Timestamp(Kind):
    """A UTC time, written as RFC 3339 to the second (``2026-01-31T12:00:00Z``)."""

    FORMAT = "%Y-%m-%dT%H:%M:%SZ"

    def make_default(self) -> Any:
        return datetime.now(UTC)

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        text = Text().read(reader, raw, path)
        try:
            return datetime.strptime(text, self.FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise Invalid(f"must be a UTC time like 2026-01-31T12:00:00Z, got {text!r}") from None

    def write(self, value: Any) -> Any:
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime(self.FORMAT)

    def empty(self, value: Any) -> bool:
        return False

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


class ListOf(Kind):
    """A list, kept as a tuple. Items that had a problem are left out (collect mode goes on with
    the rest). ``unique`` names the item attribute (or, for text items, ``""``) that must not
    repeat; ``noun`` says what repeated."""

    default = ()
    falsy_empty = True

    def __init__(self, item: Kind, *, unique: str | None = None, noun: str = "item") -> None:
        self.item = item
        self.unique = unique
        self.noun = noun

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        if not isinstance(raw, list):
            raise Invalid(f"must be a list, got {describe(raw)}")
        out: list[Any] = []
        seen: dict[Any, int] = {}
        for i, item in enumerate(raw):
            where = f"{path}[{i}]"
            value = read_value(reader, self.item, item, where, required=True)
            if value is MISSING:
                continue
            if self.unique is not None:
                key = getattr(value, self.unique) if self.unique else value
                if key in seen:
                    at = f"{where}.{self.unique}" if self.unique else where
                    reader.problem(at, f"duplicate {self.noun} {key!r} (also {path}[{seen[key]}])", item)
                seen.setdefault(key, i)
            out.append(value)
        return tuple(out)

    def write(self, value: Any) -> Any:
        return list(value) if self.item.plain_write else [self.item.write(v) for v in value]

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.schema()}


class Nested(Kind):
    """A nested record (another declared dataclass); ``optional``: ``None`` when absent."""

    def __init__(self, cls: type[Any], *, optional: bool = False) -> None:
        self.cls = cls
        self.optional = optional

    @property
    def record(self) -> Record:
        from eidos_core.codec.record import record

        return record(self.cls)

    def make_default(self) -> Any:
        return None if self.optional else self.cls()

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        return self.record.read(reader, raw, path)

    def write(self, value: Any) -> Any:
        if value is None:
            return None
        from eidos_core.codec.record import record

        return record(type(value)).encode(value)  # the value's own type: a subclass adds fields

    def empty(self, value: Any) -> bool:
        return value is None or (not self.optional and value == self.cls())

    def missing(self, value: Any) -> bool:
        return value is None

    def schema(self) -> dict[str, Any]:
        return self.record.json_schema()


class FreeMapping(Kind):
    """A mapping of any content (Helm values, ignored metadata), as plain data."""

    falsy_empty = True

    def make_default(self) -> Any:
        return {}

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        if not isinstance(raw, Mapping):
            raise Invalid(f"must be a mapping, got {describe(raw)}")
        return plain(dict(raw))

    def write(self, value: Any) -> Any:
        return value if type(value) is dict else dict(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": {}}


class TextMap(FreeMapping):
    """A mapping of names to text (snapshot metadata and context): values as Go's ``%v``."""

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        if not isinstance(raw, Mapping):
            raise Invalid(f"must be a mapping, got {describe(raw)}")
        return {str(plain(k)): scalar_text(plain(v)) for k, v in raw.items()}

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": {"type": "string"}}


class ScalarMap(FreeMapping):
    """A mapping of names to scalars (snapshot readings); anything else is kept as its text."""

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        if not isinstance(raw, Mapping):
            raise Invalid(f"must be a mapping, got {describe(raw)}")
        out: dict[str, Any] = {}
        for key, value in raw.items():  # the hot loop of a large snapshot: plain types first
            item = value.value if type(value) is Scalar else value
            if type(item) not in _READINGS:
                item = item if isinstance(item, bool | int | float | str) else scalar_text(plain(item))
            out[key if type(key) is str else str(key)] = item
        return out


def read_value(reader: Reader, kind: Kind, raw: Any, path: str, *, required: bool = False, near: Any = None) -> Any:
    """``raw`` through ``kind``; a problem is reported and gives :data:`MISSING`. ``near`` (the
    enclosing mapping) gives the line of a required value that is absent."""
    if is_null(raw):
        if required:
            reader.problem(path, "is required", near if raw is None else raw)
            return MISSING
        return kind.make_default()
    try:
        value = kind.read(reader, raw, path)
    except Invalid as exc:
        reader.problem(path, exc.message, raw)
        return MISSING
    if required and value is not MISSING and kind.missing(value):
        reader.problem(path, "is required", raw)
        return MISSING
    return value


class Emit(Enum):
    """When encoding writes a field."""

    ALWAYS = "always"
    IF_SET = "if set"  # left out when empty (the kind says what empty is)
    NEVER = "never"  # read only


class Merge(Enum):
    """How a later overlay's value meets the earlier one."""

    REPLACE = "replace"  # the later value when set, else the earlier
    KEEP = "keep"  # the earlier value: the identity of the record
    DEEP = "deep-merge"  # mappings key by key; lists and scalars replaced
    UNION = "union"  # the earlier items, then the later ones not yet there


# An authoring check: the problem with a decoded value (empty ones included), or None. Run for
# strict documents only.
Check = Callable[[Any], str | None]


@dataclasses.dataclass(frozen=True, slots=True)
class Spec:
    """One field's declaration (see :func:`wire`)."""

    key: str
    kind: Kind
    required: bool = False
    emit: Emit = Emit.IF_SET
    merge: Merge = Merge.REPLACE
    checks: tuple[Check, ...] = ()
    group: str = ""
    fallback: str = ""
    description: str = ""
    example: Any = None
    schema: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def json_schema(self, *, nullable: bool = False) -> dict[str, Any]:
        """The kind's fragment with this field's description, example and overrides (in the order
        apispec writes keys: constraints, annotations, then the structure of containers)."""
        fragment = {**self.kind.schema(), **self.schema}
        out = {k: v for k, v in fragment.items() if k not in _STRUCTURE}
        if self.description:
            out["description"] = self.description
        if self.example is not None:
            out["example"] = self.example
        if nullable:
            out["nullable"] = True
        out.update((k, v) for k, v in fragment.items() if k in _STRUCTURE)
        return out


def wire(
    key: str,
    kind: Kind | None = None,
    *,
    required: bool = False,
    emit: Emit = Emit.IF_SET,
    merge: Merge = Merge.REPLACE,
    checks: tuple[Check, ...] = (),
    group: str = "",
    fallback: str = "",
    description: str = "",
    example: Any = None,
    schema: Mapping[str, Any] | None = None,
) -> Any:
    """Declare a dataclass attribute as wire field ``key`` (in ``group``, a sub-mapping, if set).

    ``kind`` defaults to single-line :class:`Text`. ``required``: absent or empty is a problem
    (and a list item without it is left out). ``checks`` are authoring rules, run for strict
    documents only. ``fallback`` names the attribute whose value stands in when this one is
    empty (after checks). ``description``/``example``/``schema`` go into the JSON schema.
    """
    kind = kind or Text()
    spec = Spec(key, kind, required, emit, merge, checks, group, fallback, description, example, dict(schema or {}))
    default = kind.make_default()
    metadata = {SPEC: spec}
    if isinstance(default, dict | list | datetime) or (default is not None and dataclasses.is_dataclass(default)):
        return dataclasses.field(default_factory=kind.make_default, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True, slots=True)
class Header:
    """A document's ``kind`` and ``apiVersion``: checked on reading, written first.

    ``required``: both must be present (recipe data); otherwise each is checked when present.
    ``strict`` selects the reading policy (see :mod:`eidos_core.codec.reader`); ``empty_ok``
    lets a null document stand for an empty one (a recipeCriteria body of ``null`` is all any).
    """

    kind: str
    strict: bool
    required: bool = False
    fold_case: bool = False
    empty_ok: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Group:
    """A wire sub-mapping whose keys are attributes of the record itself (``metadata.version``).

    ``open``: keys it does not declare are allowed even in strict documents. ``schema_name``
    names its JSON schema (an OpenAPI component)."""

    open: bool = False
    schema_name: str = ""
    description: str = ""
