"""Adding a field to ComponentRef is one declaration (issue 12's done-when).

The test declares ``team`` the way a new field is added — one ``wire(...)`` line, here on a
subclass so production code is untouched — and shows it travelling through every path a
ComponentRef takes: reading recipe data (strict: it is no longer an unknown field, and problems
still name file, field and line), overlay merging (the engine's ``merge_refs``), the recipeResult
document, and the OpenAPI schema the server publishes. Nothing else is edited.
"""

from __future__ import annotations

from dataclasses import dataclass

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from eidos_core import yaml
from eidos_core.codec import Mode, Reader, encode, record, wire
from eidos_core.recipe.merge import merge_refs
from eidos_core.recipe.model import ComponentRef, Recipe
from eidos_core.recipe.result import recipe_to_document
from eidosd.schemas import schema_for

DATA = """\
name: gpu-operator
type: Helm
version: v26.7.0
team: ml-infra
"""


@dataclass(frozen=True, slots=True)
class TeamRef(ComponentRef):
    team: str = wire("team", description="The team that owns the component.")  # the one edit


def read(cls: type[ComponentRef], text: str) -> tuple[ComponentRef, list[str]]:
    reader = Reader("overlays/x.yaml", Mode.COLLECT, strict=True)  # how recipe data is read
    ref = record(cls).read(reader, yaml.load(text, raw=True), "spec.componentRefs[0]")
    return ref, [str(p) for p in reader.problems]


def test_a_new_component_ref_field_is_one_declaration() -> None:
    # Before the edit the key is an unknown field, located like every recipe data problem.
    _, problems = read(ComponentRef, DATA)
    assert problems == [
        "overlays/x.yaml:4: spec.componentRefs[0].team: unknown field (allowed: name, type, source, version, tag, "
        "valuesFile, overrides, patches, dependencyRefs, manifestFiles, path, namespace)"
    ]

    # decode
    base, problems = read(TeamRef, DATA)
    assert not problems
    assert isinstance(base, TeamRef) and base.team == "ml-infra" and base.version == "v26.7.0"
    _, problems = read(TeamRef, DATA.replace("team: ml-infra", "team: [a, b]"))
    assert problems == ["overlays/x.yaml:4: spec.componentRefs[0].team: must be a string, got a list"]

    # merge, as the engine folds overlays: a later overlay's team wins, one without keeps it
    refs: dict[str, ComponentRef] = {"gpu-operator": base}
    merge_refs(refs, (TeamRef("gpu-operator", version="v26.8.0"),))
    assert refs["gpu-operator"] == TeamRef("gpu-operator", type="Helm", version="v26.8.0", team="ml-infra")
    merge_refs(refs, (TeamRef("gpu-operator", team="gpu-platform"),))
    merged = refs["gpu-operator"]
    assert isinstance(merged, TeamRef) and merged.team == "gpu-platform"

    # encode: the recipeResult document carries it, after the fields declared before it
    assert list(encode(merged)) == ["name", "type", "source", "version", "team"]
    doc = recipe_to_document(Recipe(component_refs=(merged,), deployment_order=("gpu-operator",)), "v1")
    assert doc["componentRefs"] == [
        {"name": "gpu-operator", "type": "Helm", "source": "", "version": "v26.8.0", "team": "gpu-platform"}
    ]
    assert "team" not in encode(TeamRef("gpu-operator"))  # empty optional fields are left out

    # OpenAPI: the schema the server publishes, through the same converter and apispec
    spec = APISpec("t", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema("TeamRef", schema=schema_for(record(TeamRef).properties(output=True)))
    published = spec.to_dict()["components"]["schemas"]["TeamRef"]
    assert published["properties"]["team"] == {"type": "string", "description": "The team that owns the component."}
    assert list(published["properties"])[-1] == "team"
    assert set(published["required"]) == {"name", "type", "source"}
