"""Snapshot documents: ``Snapshot`` → ``Measurement`` (K8s, GPU, OS, SystemD) → ``Subtype`` → readings.

Readings are plain scalars (int, float, bool, str). Documents written by the Go reference load
unchanged: metadata is a free string map, measurement types are not restricted on read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eidos_core import API_VERSION
from eidos_core.errors import InvalidRequestError

SNAPSHOT_KIND = "Snapshot"

Reading = int | float | bool | str


def reading_text(value: Any) -> str:
    """How a reading prints in tables and compares in constraints (Go's ``%v``)."""
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


def _reading(value: Any) -> Reading:
    if isinstance(value, (bool, int, float, str)):
        return value
    return reading_text(value)


@dataclass(frozen=True, slots=True)
class Subtype:
    name: str
    data: Mapping[str, Reading]
    context: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Reading | None:
        return self.data.get(key)


@dataclass(frozen=True, slots=True)
class Measurement:
    type: str
    subtypes: tuple[Subtype, ...] = ()

    def subtype(self, name: str) -> Subtype | None:
        for sub in self.subtypes:
            if sub.name == name:
                return sub
        return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    metadata: Mapping[str, str] = field(default_factory=dict)
    measurements: tuple[Measurement, ...] = ()
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
    """Decode a snapshot document (YAML or JSON, already parsed), naming what is wrong."""
    if not isinstance(doc, Mapping):
        raise InvalidRequestError(f"{source}: a snapshot must be a mapping, got {type(doc).__name__}")
    kind = doc.get("kind") or SNAPSHOT_KIND
    if kind != SNAPSHOT_KIND:
        raise InvalidRequestError(f"{source}: kind must be {SNAPSHOT_KIND!r}, got {kind!r}", details={"field": "kind"})
    raw_meta = doc.get("metadata") or {}
    if not isinstance(raw_meta, Mapping):
        raise InvalidRequestError(f"{source}: metadata must be a mapping", details={"field": "metadata"})
    raw_measurements = doc.get("measurements")
    if raw_measurements is None:
        raw_measurements = []
    if not isinstance(raw_measurements, list):
        raise InvalidRequestError(f"{source}: measurements must be a list", details={"field": "measurements"})
    measurements: list[Measurement] = []
    for i, raw in enumerate(raw_measurements):
        where = f"measurements[{i}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
            raise InvalidRequestError(f"{source}: {where} needs a string 'type'", details={"field": where})
        subtypes: list[Subtype] = []
        raw_subtypes = raw.get("subtypes") or []
        if not isinstance(raw_subtypes, list):
            raise InvalidRequestError(f"{source}: {where}.subtypes must be a list", details={"field": where})
        for j, sub in enumerate(raw_subtypes):
            sub_where = f"{where}.subtypes[{j}]"
            if not isinstance(sub, Mapping):
                raise InvalidRequestError(f"{source}: {sub_where} must be a mapping", details={"field": sub_where})
            data = sub.get("data") or {}
            if not isinstance(data, Mapping):
                raise InvalidRequestError(f"{source}: {sub_where}.data must be a mapping", details={"field": sub_where})
            context = sub.get("context") or {}
            if not isinstance(context, Mapping):
                raise InvalidRequestError(
                    f"{source}: {sub_where}.context must be a mapping", details={"field": sub_where}
                )
            subtypes.append(
                Subtype(
                    name=str(sub.get("subtype") or ""),
                    data={str(k): _reading(v) for k, v in data.items()},
                    context={str(k): str(v) for k, v in context.items()},
                )
            )
        measurements.append(Measurement(raw["type"], tuple(subtypes)))
    return Snapshot(
        metadata={str(k): reading_text(v) for k, v in raw_meta.items()},
        measurements=tuple(measurements),
        kind=str(kind),
        api_version=str(doc.get("apiVersion") or API_VERSION),
    )


def snapshot_to_document(snapshot: Snapshot) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": snapshot.kind, "apiVersion": snapshot.api_version}
    if snapshot.metadata:
        doc["metadata"] = dict(snapshot.metadata)
    measurements = []
    for m in snapshot.measurements:
        item: dict[str, Any] = {"type": m.type}
        if m.subtypes:
            item["subtypes"] = []
            for sub in m.subtypes:
                entry: dict[str, Any] = {"subtype": sub.name, "data": dict(sub.data)}
                if sub.context:
                    entry["context"] = dict(sub.context)
                item["subtypes"].append(entry)
        measurements.append(item)
    doc["measurements"] = measurements
    return doc
