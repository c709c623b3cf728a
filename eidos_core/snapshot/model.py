"""Snapshot documents: ``Snapshot`` → ``Measurement`` (K8s, GPU, OS, SystemD) → ``Subtype`` → readings.

Readings are plain scalars (int, float, bool, str). Documents written by the Go reference load
unchanged: metadata is a free string map, measurement types are not restricted on read, other
fields are ignored and field names match in any case (read tolerantly, like a recipeResult).
The declarations below are the wire form (:mod:`eidos_core.codec`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from eidos_core import API_VERSION
from eidos_core.codec import Emit, Header, ListOf, Nested, ScalarMap, TextMap, decode, encode, wire
from eidos_core.codec import scalar_text as reading_text

__all__ = [
    "SNAPSHOT_KIND",
    "Measurement",
    "Reading",
    "Snapshot",
    "Subtype",
    "reading_text",
    "snapshot_from_document",
    "snapshot_to_document",
]

SNAPSHOT_KIND = "Snapshot"

Reading = int | float | bool | str


@dataclass(frozen=True, slots=True)
class Subtype:
    name: str = wire("subtype", emit=Emit.ALWAYS)
    data: Mapping[str, Reading] = wire("data", ScalarMap(), emit=Emit.ALWAYS)
    context: Mapping[str, str] = wire("context", TextMap())

    def get(self, key: str) -> Reading | None:
        return self.data.get(key)


@dataclass(frozen=True, slots=True)
class Measurement:
    type: str = wire("type", required=True, emit=Emit.ALWAYS)
    subtypes: tuple[Subtype, ...] = wire("subtypes", ListOf(Nested(Subtype)))

    def subtype(self, name: str) -> Subtype | None:
        for sub in self.subtypes:
            if sub.name == name:
                return sub
        return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """``kind`` and ``api_version`` are the header's (checked on reading, written first)."""

    HEADER: ClassVar[Header] = Header(SNAPSHOT_KIND, strict=False)

    metadata: Mapping[str, str] = wire("metadata", TextMap())
    measurements: tuple[Measurement, ...] = wire("measurements", ListOf(Nested(Measurement)), emit=Emit.ALWAYS)
    kind: str = SNAPSHOT_KIND
    api_version: str = API_VERSION

    def measurement(self, type_: str) -> Measurement | None:
        for m in self.measurements:
            if m.type == type_:
                return m
        return None

    def lookup(self, type_: str, subtype: str, key: str) -> Reading | None:
        m = self.measurement(type_)
        sub = m.subtype(subtype) if m else None
        return sub.get(key) if sub else None


def snapshot_from_document(doc: Any, *, source: str = "snapshot") -> Snapshot:
    """Decode a snapshot document (YAML or JSON, already parsed); the first problem raises
    :class:`InvalidRequestError` naming the field."""
    return decode(Snapshot, doc, source=source)


def snapshot_to_document(snapshot: Snapshot) -> dict[str, Any]:
    return encode(snapshot)
