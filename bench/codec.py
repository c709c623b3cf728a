"""Benchmark: eidos_core.codec against a marshmallow 3 prototype of the same readers.

    .venv/bin/python -m bench.codec

The numbers in eidos_core/codec/__init__.py come from here: the 28 embedded overlays read in
raw mode (as ``load_store`` reads them), a recipeResult of 320 component refs, and a snapshot
of 88,400 readings. The prototype is only as faithful as needed to time it: it agrees with the
codec on what the overlays decode to (checked), and it shows what marshmallow reports for a
malformed overlay (a nested dict of messages, no file or line) next to the codec's problems.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate

from eidos_core import yaml
from eidos_core.codec import scalar_text
from eidos_core.data.files import read_embedded
from eidos_core.data.load import decode_metadata
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria, parse_field
from eidos_core.recipe.model import ComponentRef, Constraint, RecipeMetadata
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.snapshot.model import Measurement, Snapshot, Subtype, snapshot_from_document
from eidos_core.sources.embedded import embedded_store
from eidos_core.yaml import Scalar, plain

SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "reference" / "snapshots" / "gb200.yaml"


class Str(fields.Field):
    """A raw-mode Scalar as its text, other scalars as Go's %v (what the codec's Text does)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        if isinstance(value, dict | list):
            raise ValidationError("must be a string")
        return scalar_text(value)


class Count(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        number = value.value if isinstance(value, Scalar) else value
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValidationError("must be an integer >= 0")
        return number


class PlainMapping(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        found = plain(value)
        if not isinstance(found, dict):
            raise ValidationError("must be a mapping")
        return found


def text(**kwargs: Any) -> Str:
    return Str(load_default="", **kwargs)


def texts(**kwargs: Any) -> fields.List:
    return fields.List(Str(), load_default=(), **kwargs)


class RefSchema(Schema):
    class Meta:
        unknown = RAISE

    name = Str(required=True)
    type = text()
    source = text()
    version = text()
    tag = text()
    values_file = text(data_key="valuesFile")
    overrides = PlainMapping(load_default=dict)
    patches = texts()
    dependency_refs = texts(data_key="dependencyRefs")
    manifest_files = texts(data_key="manifestFiles")
    path = text()
    namespace = text()

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> ComponentRef:
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return ComponentRef(**values)


class CriteriaSchema(Schema):
    class Meta:
        unknown = RAISE

    service = text()
    accelerator = text()
    intent = text()
    os = text()
    nodes = Count(load_default=0)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Criteria:
        values: dict[str, Any] = {k: v if k == "nodes" else parse_field(k, v) for k, v in data.items()}
        return Criteria(**values)


class ConstraintSchema(Schema):
    name = Str(required=True)
    value = Str(required=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Constraint:
        return Constraint(data["name"], data["value"].strip())


class SpecSchema(Schema):
    class Meta:
        unknown = RAISE

    base = text()
    criteria = fields.Nested(CriteriaSchema, load_default=None)
    constraints = fields.List(fields.Nested(ConstraintSchema), load_default=())
    componentRefs = fields.List(fields.Nested(RefSchema), load_default=())


class MetadataSchema(Schema):
    class Meta:
        unknown = INCLUDE

    name = Str(required=True)


class OverlaySchema(Schema):
    class Meta:
        unknown = RAISE

    kind = Str(required=True, validate=validate.Equal("recipeMetadata"))
    apiVersion = Str(required=True)
    metadata = fields.Nested(MetadataSchema, required=True)
    spec = fields.Nested(SpecSchema, load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> RecipeMetadata:
        spec = data["spec"]
        return RecipeMetadata(
            name=data["metadata"]["name"],
            base=spec.get("base", ""),
            criteria=spec.get("criteria"),
            constraints=tuple(spec.get("constraints", ())),
            component_refs=tuple(spec.get("componentRefs", ())),
        )


class RecipeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    componentRefs = fields.List(fields.Nested(RefSchema(unknown=EXCLUDE)), load_default=())
    constraints = fields.List(fields.Nested(ConstraintSchema(unknown=EXCLUDE)), load_default=())
    deploymentOrder = fields.List(Str(), load_default=())


class SubtypeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    subtype = text()
    readings = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict, data_key="data")
    labels = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict, data_key="context")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Subtype:
        return Subtype(data["subtype"], data["readings"], data["labels"])


class MeasurementSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    type = Str(required=True)
    subtypes = fields.List(fields.Nested(SubtypeSchema), load_default=())

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Measurement:
        return Measurement(data["type"], tuple(data["subtypes"]))


class SnapshotSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = text()
    apiVersion = text()
    metadata = fields.Dict(load_default=dict)
    measurements = fields.List(fields.Nested(MeasurementSchema), load_default=())

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Snapshot:
        return Snapshot(metadata=data["metadata"], measurements=tuple(data["measurements"]))


def best_ms(fn: Callable[[], object], *, rounds: int = 7, inner: int = 1) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - started) / inner)
    return min(times) * 1000


def main() -> None:
    files = read_embedded()
    raws = [(p, yaml.load(files[p], source=p, raw=True)) for p in sorted(files) if p.startswith("overlays/")]
    overlays = OverlaySchema()
    assert [overlays.load(r).component_refs for _, r in raws] == [
        found.component_refs for found in (decode_metadata(r, p)[0] for p, r in raws) if found is not None
    ], "the prototype reads the overlays differently"
    codec = best_ms(lambda: [decode_metadata(r, p) for p, r in raws], inner=20)
    other = best_ms(lambda: [overlays.load(r) for _, r in raws], inner=20)
    print(f"{len(raws)} embedded overlays (raw mode): codec {codec:.2f} ms, marshmallow {other:.2f} ms")

    bad = yaml.load(files["overlays/eks.yaml"].replace(b"service: eks", b"service: eks\n    nodes: -1"), raw=True)
    bad["spec"]["componentRefs"][0]["overrides"] = ["x"]  # plain data: no line to report
    try:
        overlays.load(bad)
    except ValidationError as exc:
        print(f"  marshmallow reports: {exc.messages}")
    print(f"  the codec reports:   {[str(p) for p in decode_metadata(bad, 'overlays/eks.yaml')[1]]}")

    criteria = Criteria("eks", "gb200", "training", "ubuntu")
    doc = yaml.load(yaml.dump(recipe_to_document(build_recipe(embedded_store(), criteria), "v1")), raw=True)
    refs = [dict(r, name=f"{plain(r['name'])}-{i}") for i in range(40) for r in doc["componentRefs"]]
    big = dict(doc, componentRefs=refs)
    recipes = RecipeSchema()
    codec = best_ms(lambda: recipe_from_document(big), inner=10)
    other = best_ms(lambda: recipes.load(big), inner=10)
    print(f"recipeResult of {len(refs)} refs: codec {codec:.2f} ms, marshmallow {other:.2f} ms")

    snap = yaml.load(SNAPSHOT.read_bytes())
    large = copy.deepcopy(snap)
    for m in large["measurements"]:
        m["subtypes"] = [dict(s, subtype=f"{s.get('subtype')}-{i}") for i in range(50) for s in m.get("subtypes") or []]
    readings = sum(len(s.get("data") or {}) for m in large["measurements"] for s in m["subtypes"])
    snapshots = SnapshotSchema()
    codec = best_ms(lambda: snapshot_from_document(large), inner=3)
    other = best_ms(lambda: snapshots.load(large), inner=3)
    print(f"snapshot of {readings} readings: codec {codec:.2f} ms, marshmallow {other:.2f} ms")


if __name__ == "__main__":
    main()
