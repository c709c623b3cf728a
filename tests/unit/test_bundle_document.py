"""recipe_from_document: our recipeResult round-trips; the reference's shape is accepted;
every malformed field is named in the error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eidos_core import yaml
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.sources.embedded import embedded_store


def go_style() -> dict[str, Any]:
    """Shaped like the reference's output: extra fields, null criteria, RecipeResult kind."""
    return {
        "kind": "RecipeResult",
        "apiVersion": "eidos.nvidia.com/v1alpha1",
        "metadata": {"version": "v0.26.7-next", "appliedOverlays": ["base"], "generatedBy": "go"},
        "criteria": None,
        "constraints": [{"name": "K8s.server.version", "value": ">= 1.32.4"}],
        "componentRefs": [
            {
                "name": "gpu-operator",
                "type": "Helm",
                "source": "https://helm.ngc.nvidia.com/nvidia",
                "version": "v25.3.3",
                "overrides": {"driver": {"version": "580.82.07"}},
                "manifestFiles": ["components/gpu-operator/manifests/x.yaml"],
                "unknownField": 1,
            },
            {"name": "dgxc-teleport", "type": "Kustomize", "source": "https://git.example/t", "tag": "v1", "path": "k"},
        ],
        "deploymentOrder": ["gpu-operator", "dgxc-teleport"],
        "somethingNew": {"ignored": True},
    }


@pytest.mark.parametrize(
    "criteria",
    [
        Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu"),
        Criteria(service="gke", os="cos", nodes=4),
        Criteria(),
    ],
)
def test_our_documents_round_trip(criteria: Criteria) -> None:
    doc = recipe_to_document(build_recipe(embedded_store(), criteria), "v1.2.3")
    # Through YAML text and back, as the CLI reads it.
    parsed = recipe_from_document(yaml.load(yaml.dump(doc)), source="r.yaml")
    assert parsed.criteria == criteria
    assert parsed.version == "v1.2.3"
    assert parsed.to_document() == doc


def test_reference_shape_is_accepted() -> None:
    recipe = recipe_from_document(go_style())
    assert recipe.criteria is None
    assert recipe.version == "v0.26.7-next"
    assert [r.name for r in recipe.component_refs] == ["gpu-operator", "dgxc-teleport"]
    gpu = recipe.component_refs[0]
    assert gpu.overrides == {"driver": {"version": "580.82.07"}}
    assert gpu.manifest_files == ("components/gpu-operator/manifests/x.yaml",)
    assert recipe.component_refs[1].tag == "v1"
    assert recipe.ref("dgxc-teleport") is recipe.component_refs[1]
    assert recipe.ref("missing") is None
    out = recipe.to_document()
    assert out["kind"] == "recipeResult"
    assert out["criteria"] is None
    assert "somethingNew" not in out
    assert "unknownField" not in out["componentRefs"][0]


def test_json_reads_the_same() -> None:
    doc = go_style()
    assert recipe_from_document(yaml.load(json.dumps(doc))) == recipe_from_document(doc)


def test_scalars_in_string_fields_keep_their_text() -> None:
    text = "componentRefs:\n  - name: a\n    version: 1.10\n    tag: 7\n"
    assert recipe_from_document(yaml.load(text, raw=True)).component_refs[0].version == "1.10"
    # Without raw mode the number is all there is; it still becomes a string.
    ref = recipe_from_document(yaml.load(text)).component_refs[0]
    assert (ref.version, ref.tag) == ("1.1", "7")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(kind="Snapshot"), "kind"),
        (lambda d: d.update(apiVersion="v1"), "apiVersion"),
        (lambda d: d.update(componentRefs={"a": 1}), "componentRefs"),
        (lambda d: d["componentRefs"][1].pop("name"), "componentRefs[1].name"),
        (lambda d: d["componentRefs"][0].update(overrides=["x"]), "componentRefs[0].overrides"),
        (lambda d: d["componentRefs"][0].update(version={"a": 1}), "componentRefs[0].version"),
        (lambda d: d["componentRefs"][0].update(manifestFiles="x.yaml"), "componentRefs[0].manifestFiles"),
        (lambda d: d["componentRefs"][1].update(name="gpu-operator"), "componentRefs[1].name"),
        (lambda d: d.update(criteria={"service": "mainframe"}), "criteria.service"),
        (lambda d: d.update(criteria={"nodes": -1}), "criteria.nodes"),
        (lambda d: d.update(constraints=[{"value": "1"}]), "constraints[0].name"),
        (lambda d: d.update(metadata=[]), "metadata"),
        (lambda d: d.update(deploymentOrder=[["x"]]), "deploymentOrder[0]"),
    ],
)
def test_errors_name_the_field(mutate: Any, field: str) -> None:
    doc = go_style()
    mutate(doc)
    with pytest.raises(InvalidRequestError) as err:
        recipe_from_document(doc, source="in.yaml")
    assert err.value.message.startswith(f"in.yaml: {field}: ")
    assert err.value.details["field"] == field


@pytest.mark.parametrize("doc", [None, [], "text"])
def test_not_a_recipe(doc: Any) -> None:
    with pytest.raises(InvalidRequestError, match="in.yaml"):
        recipe_from_document(doc, source="in.yaml")


def test_minimal_document() -> None:
    recipe = recipe_from_document({"componentRefs": [{"name": "a"}]})
    assert recipe.component_refs[0].name == "a"
    assert recipe.deployment_order == ()
    assert recipe.to_document()["deploymentOrder"] == []
