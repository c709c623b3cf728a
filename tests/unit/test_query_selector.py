"""The recipe query (eidos_core.recipe.query): selector syntax, the hydrated document, the walk."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eidos_cli.bundle.values import bundle_values, recipe_values
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import parse_criteria
from eidos_core.recipe.model import ComponentRef, Constraint, Recipe, RecipeStore
from eidos_core.recipe.query import (
    MAX_SEGMENTS,
    MAX_SELECTOR_CHARS,
    SELECTOR_PATTERN,
    hydrate,
    parse_selector,
    query_recipe,
    select,
)
from eidos_core.sources.embedded import embedded_store


@pytest.fixture(scope="module")
def store() -> RecipeStore:
    return embedded_store()


@pytest.fixture(scope="module")
def recipe(store: RecipeStore) -> Recipe:
    return build_recipe(store, parse_criteria("eks", "h100", "training", None, None))


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("deploymentOrder", ("deploymentOrder",)),
        ("componentRefs.gpu-operator.version", ("componentRefs", "gpu-operator", "version")),
        ("a.b c.d", ("a", "b c", "d")),  # inner blanks belong to the key
        ("x." * (MAX_SEGMENTS - 1) + "x", ("x",) * MAX_SEGMENTS),
    ],
)
def test_parse_selector(text: str, segments: tuple[str, ...]) -> None:
    assert parse_selector(text) == segments


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "it is empty"),
        (".a", "segment 1 is empty"),
        ("a.", "segment 2 is empty"),
        ("a..b", "segment 2 is empty"),
        ("a. b", "has blanks around it"),
        (" ", "has blanks around it"),
        ("a\nb", "control character '\\n' at position 1"),
        ("a\x7fb", "control character"),
        ("a" * (MAX_SELECTOR_CHARS + 1), f"longer than {MAX_SELECTOR_CHARS}"),
        ("x." * MAX_SEGMENTS + "x", f"more than {MAX_SEGMENTS} segments"),
    ],
)
def test_malformed_selector_names_the_field(text: str, reason: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_selector(text)
    assert caught.value.details["field"] == "selector"
    assert reason in caught.value.message and reason in caught.value.details["reason"]
    assert len(caught.value.details["value"]) <= 80  # a long selector is not echoed whole


def test_issue_examples(recipe: Recipe, store: RecipeStore) -> None:
    doc = recipe.to_document()
    gpu = next(ref for ref in doc["componentRefs"] if ref["name"] == "gpu-operator")
    assert query_recipe(recipe, store.files, "componentRefs.gpu-operator.version") == gpu["version"]
    assert query_recipe(recipe, store.files, "deploymentOrder") == doc["deploymentOrder"]
    assert query_recipe(recipe, store.files, "deploymentOrder.0") == doc["deploymentOrder"][0]
    k8s = next(c["value"] for c in doc["constraints"] if c["name"] == "K8s.server.version")
    assert query_recipe(recipe, store.files, "constraints.K8s.server.version") == k8s
    ref = recipe.ref("gpu-operator")
    assert ref is not None
    merged = bundle_values([ref], store.files, store.registry)["gpu-operator"]
    driver = query_recipe(recipe, store.files, "componentRefs.gpu-operator.values.driver.version")
    assert driver == merged["driver"]["version"]
    assert isinstance(driver, str) and driver


def test_hydrate_addresses_components_and_constraints_by_name(recipe: Recipe, store: RecipeStore) -> None:
    doc = recipe.to_document()
    hydrated = hydrate(recipe, store.files)
    assert list(hydrated["componentRefs"]) == [ref["name"] for ref in doc["componentRefs"]]
    for ref in doc["componentRefs"]:
        component = dict(hydrated["componentRefs"][ref["name"]])
        assert isinstance(component.pop("values"), dict)
        assert component == ref  # the document's fields, untouched
    assert hydrated["constraints"] == {c["name"]: c["value"] for c in doc["constraints"]}
    assert {k: v for k, v in hydrated.items() if k not in ("componentRefs", "constraints")} == {
        k: v for k, v in doc.items() if k not in ("componentRefs", "constraints")
    }
    assert hydrate(Recipe(), {})["constraints"] == {}


def test_values_are_the_bundles_before_set(recipe: Recipe, store: RecipeStore) -> None:
    """The bundle's values before references, --set and scheduling: steps 1-2 alone."""
    hydrated = hydrate(recipe, store.files)
    merged = {ref.name: recipe_values(ref, store.files) for ref in recipe.component_refs}
    assert {name: c["values"] for name, c in hydrated["componentRefs"].items()} == merged
    assert any(merged.values())


def test_overrides_go_over_the_values_file() -> None:
    files = {
        "components/a/values.yaml": b"x: {y: 1, z: [1, 2]}\nkeep: true\n",
        "components/a/values-eks.yaml": b"x: {y: 2}\n",
    }
    recipe = Recipe(
        component_refs=(
            ComponentRef(name="a", values_file="components/a/values-eks.yaml", overrides={"x": {"z": [3]}}),
            ComponentRef(name="b"),
        ),
        constraints=(Constraint(name="OS.release.ID", value="ubuntu"),),
    )
    assert query_recipe(recipe, files, "componentRefs.a.values") == {"x": {"y": 2, "z": [3]}, "keep": True}
    assert query_recipe(recipe, files, "componentRefs.b.values") == {}
    assert query_recipe(recipe, files, "constraints.OS.release.ID") == "ubuntu"
    with pytest.raises(NotFoundError, match="values file components/a/values-eks.yaml of component a"):
        hydrate(recipe, {})


def test_dotted_keys_and_lists() -> None:
    doc: dict[str, Any] = {
        "v": {"nvidia.com/gpu.present": "true", "nvidia.com": {"x": 1}, "list": [{"k": "a"}, {"k": "b"}]},
        "a.b": {"c": 1},
        "a": {"b": {"d": 2}},
    }
    assert select(doc, ("v", "nvidia", "com/gpu", "present")) == "true"
    assert select(doc, ("v", "nvidia", "com", "x")) == 1
    assert select(doc, ("v", "list", "1", "k")) == "b"
    assert select(doc, ("a", "b", "c")) == 1  # the dotted key wins
    assert select(doc, ()) is doc
    for path, found, missing in (
        (("v", "list", "2"), "v.list", "2"),
        (("v", "list", "-1"), "v.list", "-1"),
        (("v", "list", "first"), "v.list", "first"),
        (("a", "b", "d"), "a.b", "d"),  # the longest key was taken: a.b has no d
        (("v", "nvidia.com/gpu.present", "x"), "v.nvidia.com/gpu.present", "x"),
        (("nope",), "", "nope"),
    ):
        with pytest.raises(NotFoundError) as caught:
            select(doc, tuple(".".join(path).split(".")))
        assert caught.value.details["found"] == found, path
        assert caught.value.details["missing"] == missing
        assert caught.value.details["field"] == "selector"
        if found:
            assert f"{found!r} exists" in caught.value.message


def test_not_found_names_the_longest_existing_prefix(recipe: Recipe, store: RecipeStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        query_recipe(recipe, store.files, "componentRefs.gpu-operator.values.driver.nope")
    assert caught.value.details["found"] == "componentRefs.gpu-operator.values.driver"
    assert caught.value.details["missing"] == "nope"
    assert "version" in caught.value.details["available"]
    assert "'componentRefs.gpu-operator.values.driver' exists, 'nope' does not" in caught.value.message
    with pytest.raises(NotFoundError) as caught:
        query_recipe(recipe, store.files, "componentRefs.no-such-component.version")
    assert caught.value.details["found"] == "componentRefs"
    assert "gpu-operator" in caught.value.details["available"]


_PIECES = st.sampled_from(["a", "gpu-operator", ".", " ", "\t", "\x85", "\u00a0", "\u2003", "é", "nvidia.com/gpu", ""])


@given(st.lists(_PIECES, max_size=12).map("".join) | st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_the_documented_pattern_is_exactly_what_parses(text: str) -> None:
    """The OpenAPI document's pattern (Python's re, as schemathesis reads it) and the parser agree."""
    documented = re.search(SELECTOR_PATTERN, text) is not None and not text.endswith("\n")
    try:
        parse_selector(text)
    except InvalidRequestError:
        assert not documented, text
    else:
        assert documented, text
