"""A declared dataclass as a wire record: decode, encode, merge and describe, all from its specs.

Class attributes a declared dataclass may set (all optional):

* ``HEADER`` (:class:`Header`): a top-level document with ``kind``/``apiVersion`` and a policy;
* ``GROUPS`` (name → :class:`Group`): wire sub-mappings holding some of its fields;
* ``CHECKS``: record-level authoring checks, each ``obj -> iterable of (key, message)``;
* ``SCHEMA_NAME``: the name of its JSON schema (default: the class name).
"""

from __future__ import annotations

import copy
import dataclasses
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from eidos_core import API_VERSION
from eidos_core.codec.fields import (
    MISSING,
    SPEC,
    Const,
    Emit,
    Group,
    Header,
    Invalid,
    Kind,
    ListOf,
    Merge,
    Nested,
    Spec,
    read_value,
)
from eidos_core.codec.reader import Mode, Reader, describe, is_null, join, locate
from eidos_core.errors import Problem

T = TypeVar("T")
RecordCheck = Callable[[Any], Iterable[tuple[str, str]]]


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: ``over`` on top of ``base`` (mappings merged per key, anything else
    replaced). Neither input is modified or shared."""
    result: dict[str, Any] = {k: copy.deepcopy(v) for k, v in base.items()}
    for key, value in over.items():
        current = result.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            result[key] = deep_merge(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


@dataclasses.dataclass(frozen=True, slots=True)
class Property:
    """One property of a JSON schema object, as :meth:`Record.properties` describes it: either a
    plain ``fragment`` or a ``nested`` object (a list of them when ``many``)."""

    key: str
    required: bool
    fragment: dict[str, Any]
    nested: Properties | None = None
    many: bool = False
    nullable: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Properties:
    """A JSON schema object: its name (an OpenAPI component), properties, and whether keys it
    does not list are allowed."""

    name: str
    properties: tuple[Property, ...]
    open: bool = False
    description: str = ""

    def json_schema(self) -> dict[str, Any]:
        """This object as one inline JSON schema."""
        props: dict[str, Any] = {}
        for p in self.properties:
            if p.nested is None:
                props[p.key] = p.fragment
                continue
            inner = p.nested.json_schema()
            props[p.key] = {"type": "array", "items": inner, **p.fragment} if p.many else {**inner, **p.fragment}
            if p.nullable:
                props[p.key]["nullable"] = True
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": self.open}
        required = [p.key for p in self.properties if p.required]
        if required:
            out["required"] = required
        return out


class Record:
    """The codec of one declared dataclass (built once per class by :func:`record`)."""

    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.header: Header | None = getattr(cls, "HEADER", None)
        self.groups: Mapping[str, Group] = getattr(cls, "GROUPS", {})
        self.checks: tuple[RecordCheck, ...] = getattr(cls, "CHECKS", ())
        self.name: str = getattr(cls, "SCHEMA_NAME", "") or cls.__name__
        self.fields: tuple[tuple[str, Spec], ...] = tuple(
            (f.name, f.metadata[SPEC]) for f in dataclasses.fields(cls) if SPEC in f.metadata
        )
        self.allowed = self._allowed_keys()
        self.fallbacks = tuple((attr, spec) for attr, spec in self.fields if spec.fallback)
        written = [(attr, spec) for attr, spec in self.fields if spec.emit is not Emit.NEVER]
        self._values = operator.attrgetter(*(attr for attr, _ in written)) if written else None
        self._plan = tuple(_encoding(spec) for _, spec in written)

    def _allowed_keys(self) -> dict[str, tuple[str, ...]]:
        """The keys of the record's mapping ("") and of each group, in declaration order."""
        top: list[str] = ["kind", "apiVersion"] if self.header else []
        inner: dict[str, list[str]] = {name: [] for name in self.groups}
        for _, spec in self.fields:
            if spec.group:
                inner[spec.group].append(spec.key)
            keys = [spec.group] if spec.group else [spec.key]
            top.extend(k for k in keys if k not in top)
        return {"": tuple(top), **{k: tuple(v) for k, v in inner.items()}}

    # -- reading ----------------------------------------------------------------------------

    def read(self, reader: Reader, raw: Any, path: str) -> Any:
        """The record from mapping ``raw``; :data:`MISSING` when a required field is missing."""
        if not isinstance(raw, Mapping):
            raise Invalid(f"must be a mapping, got {describe(raw)}")
        reader.unknown(raw, self.allowed[""], path)
        containers = {"": raw, **{name: self._group(reader, raw, name, path) for name in self.groups}}
        if self.header is not None:
            self._read_header(reader, raw, path)
        values: dict[str, Any] = {}
        complete = True
        for attr, spec in self.fields:
            value = self._read_field(reader, spec, containers[spec.group], path)
            if value is MISSING:
                complete = complete and not spec.required
                value = spec.kind.make_default()
            values[attr] = value
        obj = self.cls(**values)
        if reader.strict:
            for check in self.checks:
                for key, message in check(obj):
                    reader.problem(join(path, key), message, locate(raw, key) or raw)
        if self.fallbacks:
            filled = {a: getattr(obj, s.fallback) for a, s in self.fallbacks if s.kind.empty(getattr(obj, a))}
            obj = dataclasses.replace(obj, **filled) if filled else obj
        return obj if complete else MISSING

    @staticmethod
    def _read_field(reader: Reader, spec: Spec, container: Mapping[Any, Any], path: str) -> Any:
        """One field's value (or :data:`MISSING`), its authoring checks run when reading strictly."""
        where = join(join(path, spec.group), spec.key)
        raw_value = reader.get(container, spec.key)
        value = read_value(reader, spec.kind, raw_value, where, required=spec.required, near=container)
        if value is not MISSING and reader.strict:
            for rule in spec.checks:
                message = rule(value)
                if message:
                    reader.problem(where, message, raw_value)
        return value

    def _group(self, reader: Reader, raw: Mapping[Any, Any], name: str, path: str) -> Mapping[Any, Any]:
        value = reader.get(raw, name)
        if is_null(value):
            return {}
        if not isinstance(value, Mapping):
            reader.problem(join(path, name), f"must be a mapping, got {describe(value)}", value)
            return {}
        if not self.groups[name].open:
            reader.unknown(value, self.allowed[name], join(path, name))
        return value

    def _read_header(self, reader: Reader, raw: Mapping[Any, Any], path: str) -> None:
        header = self.header
        assert header is not None
        for key, kind in (("kind", Const(header.kind, fold_case=header.fold_case)), ("apiVersion", Const(API_VERSION))):
            read_value(reader, kind, reader.get(raw, key), join(path, key), required=header.required, near=raw)

    # -- writing and merging ----------------------------------------------------------------

    def encode(self, obj: Any) -> dict[str, Any]:
        """The wire form, in declaration order; a group is written where its first field is."""
        out: dict[str, Any] = {}
        if self.header is not None:
            out["kind"] = self.header.kind
            out["apiVersion"] = API_VERSION
        if self._values is None:
            return out
        values = self._values(obj)
        if len(self._plan) == 1:
            values = (values,)
        for (key, group, always, empty, write), value in zip(self._plan, values, strict=True):
            if not always and (empty(value) if empty is not None else not value):
                continue
            target = out
            if group:
                target = out.get(group) or out.setdefault(group, {})
            target[key] = value if write is None else write(value)
        return out

    def merge(self, base: Any, over: Any) -> Any:
        """``over`` (a later overlay's record) applied to ``base``, field by field (see :class:`Merge`)."""
        values: dict[str, Any] = {}
        for attr, spec in self.fields:
            earlier, later = getattr(base, attr), getattr(over, attr)
            rule = spec.merge
            if rule is Merge.KEEP:
                values[attr] = earlier
            elif rule is Merge.DEEP:
                values[attr] = deep_merge(earlier, later) if later else earlier
            elif rule is Merge.UNION:
                values[attr] = earlier + tuple(x for x in later if x not in earlier)
            else:
                values[attr] = earlier if spec.kind.empty(later) else later
        return type(base)(**values)

    # -- describing -------------------------------------------------------------------------

    def properties(self, *, output: bool) -> Properties:
        """The JSON schema object of this record. ``output``: what :meth:`encode` writes (required
        = always written); else what reading accepts (required = required; null = absent)."""
        props: list[Property] = []
        if self.header is not None:
            for key, value in (("kind", self.header.kind), ("apiVersion", API_VERSION)):
                required = output or self.header.required
                fragment: dict[str, Any] = {"type": "string", "enum": [value]}
                if not required:  # null is absent
                    fragment = {"type": "string", "enum": [value, None], "example": value, "nullable": True}
                props.append(Property(key, required, fragment))
        done: set[str] = set()
        for _, spec in self.fields:
            if spec.group:
                if spec.group not in done:
                    done.add(spec.group)
                    props.append(self._group_property(spec.group, output=output))
                continue
            props.append(_property(spec, output=output))
        tolerant = self.header is not None and not self.header.strict
        return Properties(self.name, tuple(props), open=tolerant and not output)

    def _group_property(self, name: str, *, output: bool) -> Property:
        group = self.groups[name]
        members = tuple(_property(spec, output=output) for _, spec in self.fields if spec.group == name)
        nested = Properties(group.schema_name or name, members, open=group.open and not output)
        required = any(p.required for p in members) and not output
        return Property(name, required, {}, nested=nested, nullable=not output and not required)

    def json_schema(self, *, output: bool = True) -> dict[str, Any]:
        return self.properties(output=output).json_schema()


def _encoding(spec: Spec) -> tuple[str, str, bool, Callable[[Any], bool] | None, Callable[[Any], Any] | None]:
    """How :meth:`Record.encode` writes a field: key, group, always, empty test and writer (None
    where ``not value`` and the value itself will do, saving a call per field)."""
    kind = spec.kind
    return (
        spec.key,
        spec.group,
        spec.emit is Emit.ALWAYS,
        None if kind.falsy_empty else kind.empty,
        None if kind.plain_write else kind.write,
    )


def _property(spec: Spec, *, output: bool) -> Property:
    required = spec.emit is Emit.ALWAYS if output else spec.required
    nullable = not output and not spec.required
    kind: Kind = spec.kind
    many = isinstance(kind, ListOf) and isinstance(kind.item, Nested)
    target = kind.item if isinstance(kind, ListOf) and many else kind
    if isinstance(target, Nested):
        nested = target.record.properties(output=output)
        fragment = {"description": spec.description} if spec.description else {}
        return Property(spec.key, required, fragment, nested=nested, many=many, nullable=nullable and not many)
    return Property(spec.key, required, spec.json_schema(nullable=nullable))


_RECORDS: dict[type[Any], Record] = {}


def record(cls: type[Any]) -> Record:
    """The codec of a declared dataclass (built once per class)."""
    found = _RECORDS.get(cls)
    if found is None:
        found = _RECORDS[cls] = Record(cls)
    return found


def decode(cls: type[T], raw: Any, *, source: str) -> T:
    """Read document ``raw`` as ``cls`` (a declared dataclass with a ``HEADER``), stopping at
    the first problem: :class:`InvalidRequestError` naming source, line and field."""
    found, _ = _decode(cls, raw, source=source, mode=Mode.FIRST)
    assert found is not None  # Mode.FIRST raised at the problem that made it None
    return found


def decode_all(cls: type[T], raw: Any, *, source: str) -> tuple[T | None, list[Problem]]:
    """Read document ``raw`` as ``cls`` collecting every problem; ``None`` when it is no such
    document at all (or a required field is missing)."""
    return _decode(cls, raw, source=source, mode=Mode.COLLECT)


def _decode(cls: type[T], raw: Any, *, source: str, mode: Mode) -> tuple[T | None, list[Problem]]:
    rec = record(cls)
    header = rec.header
    assert header is not None, f"{cls.__name__} is not a document (no HEADER)"
    reader = Reader(source, mode, strict=header.strict)
    if is_null(raw):
        if header.empty_ok:
            raw = {}
        else:
            reader.problem("", f"empty document; expected a {header.kind}", raw)
            return None, reader.problems
    if not isinstance(raw, Mapping):
        reader.problem("", f"expected a {header.kind} mapping, got {describe(raw)}", raw)
        return None, reader.problems
    found = read_value(reader, Nested(cls), raw, "")
    return (None if found is MISSING else found), reader.problems


def encode(obj: Any) -> dict[str, Any]:
    """The wire form of a declared dataclass instance."""
    return record(type(obj)).encode(obj)


def merge(base: T, over: T) -> T:
    """``over`` merged onto ``base`` by the merge rules of their declaration."""
    merged: T = record(type(base)).merge(base, over)
    return merged
