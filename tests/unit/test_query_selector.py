"""The recipe query (eidos_core.recipe.query): selector syntax, the hydrated document, the walk."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eidos_cli.bundle.plan import BundleOptions, build_plan
from eidos_cli.bundle.scheduling import NodeGroup, Scheduling
from eidos_cli.bundle.values import bundle_values
from eidos_core.data.load import decode_registry
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import parse_criteria
from eidos_core.recipe.model import ComponentRef, Constraint, Recipe, RecipeStore, Registry
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
from eidos_core.yaml import load


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
    assert query_recipe(recipe, store.files, "componentRefs.gpu-operator.version", store.registry) == gpu["version"]
    assert query_recipe(recipe, store.files, "deploymentOrder", store.registry) == doc["deploymentOrder"]
    assert query_recipe(recipe, store.files, "deploymentOrder.0", store.registry) == doc["deploymentOrder"][0]
    k8s = next(c["value"] for c in doc["constraints"] if c["name"] == "K8s.server.version")
    assert query_recipe(recipe, store.files, "constraints.K8s.server.version", store.registry) == k8s
    ref = recipe.ref("gpu-operator")
    assert ref is not None
    merged = bundle_values([ref], store.files, store.registry)["gpu-operator"]
    driver = query_recipe(recipe, store.files, "componentRefs.gpu-operator.values.driver.version", store.registry)
    assert driver == merged["driver"]["version"]
    assert isinstance(driver, str) and driver


def test_hydrate_addresses_components_and_constraints_by_name(recipe: Recipe, store: RecipeStore) -> None:
    doc = recipe.to_document()
    hydrated = hydrate(recipe, store.files, store.registry)
    assert list(hydrated["componentRefs"]) == [ref["name"] for ref in doc["componentRefs"]]
    for ref in doc["componentRefs"]:
        component = dict(hydrated["componentRefs"][ref["name"]])
        assert isinstance(component.pop("values"), dict)
        assert component == ref  # the document's fields, untouched
    assert hydrated["constraints"] == {c["name"]: c["value"] for c in doc["constraints"]}
    assert {k: v for k, v in hydrated.items() if k not in ("componentRefs", "constraints")} == {
        k: v for k, v in doc.items() if k not in ("componentRefs", "constraints")
    }
    assert hydrate(Recipe(), {}, Registry())["constraints"] == {}


def test_values_are_the_bundles_before_set_and_scheduling(recipe: Recipe, store: RecipeStore) -> None:
    """Steps 1-3: values files, overrides and the registry's references, as the install plan of a
    bundle without --set or scheduling holds them (tests/integration/test_eidosd_query.py compares
    with the values.yaml files a bundle writes)."""
    hydrated = hydrate(recipe, store.files, store.registry)
    plan = build_plan(recipe, store, BundleOptions(scheduling=Scheduling(accelerated=NodeGroup())))
    helm = {step.component: dict(step.values) for step in plan.steps if step.chart is not None}
    assert {name: c["values"] for name, c in hydrated["componentRefs"].items() if name in helm} == helm
    assert len(helm) > 5


@pytest.mark.parametrize(
    ("criteria", "selector", "expected"),
    [
        (
            (None, "h100", None, None, None),
            "componentRefs.prometheus-adapter.values.prometheus.url",
            "http://prometheus-kube-prometheus-prometheus.monitoring.svc",
        ),
        (
            ("eks", "gb200", None, None, None),
            "componentRefs.nvidia-dra-driver-gpu.values.namespaceOverride",
            "nvidia-dra-driver-gpu",
        ),
    ],
)
def test_registry_references_are_set_from_the_namespace_plan(
    store: RecipeStore, criteria: tuple[str | None, ...], selector: str, expected: str
) -> None:
    """The review's examples: values the bundle writes from the registry, not the values files."""
    recipe = build_recipe(store, parse_criteria(*criteria))
    assert query_recipe(recipe, store.files, selector, store.registry) == expected
    with pytest.raises(NotFoundError):  # not in the values files: only the references put it there
        query_recipe(recipe, store.files, selector, Registry())


def test_a_reference_to_a_component_not_in_the_recipe_is_removed() -> None:
    text = (
        "apiVersion: eidos.nvidia.com/v1alpha1\nkind: ComponentRegistry\ncomponents:\n"
        "  - name: adapter\n    namespace: monitoring\n    helm: {defaultChart: x/adapter}\n"
        "    valueReferences:\n"
        '      - {path: prom.url, component: prom, value: "http://{release}.{namespace}.svc"}\n'
        '      - {path: self, value: "{namespace}"}\n'
        "  - name: prom\n    namespace: metrics\n    helm: {defaultChart: x/prom}\n"
    )
    comps, problems = decode_registry(load(text, raw=True), "registry.yaml")
    assert not problems
    registry = Registry(components=comps)
    files = {"components/adapter/values.yaml": b"prom: {url: http://hard.coded, port: 9090}\n"}
    adapter = ComponentRef(name="adapter", values_file="components/adapter/values.yaml")
    both = Recipe(component_refs=(adapter, ComponentRef(name="prom", namespace="other")))
    assert query_recipe(both, files, "componentRefs.adapter.values", registry) == {
        "prom": {"url": "http://prom.other.svc", "port": 9090},  # the recipe's namespace wins
        "self": "monitoring",
    }
    alone = Recipe(component_refs=(adapter, ComponentRef(name="Not_A_Label")))
    # prom is not in the recipe: its URL is removed, not left hard-coded; a component whose name
    # is no namespace is no matter while nothing points at it.
    assert query_recipe(alone, files, "componentRefs.adapter.values", registry) == {
        "prom": {"port": 9090},
        "self": "monitoring",
    }


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
    assert query_recipe(recipe, files, "componentRefs.a.values", Registry()) == {"x": {"y": 2, "z": [3]}, "keep": True}
    assert query_recipe(recipe, files, "componentRefs.b.values", Registry()) == {}
    assert query_recipe(recipe, files, "constraints.OS.release.ID", Registry()) == "ubuntu"
    with pytest.raises(NotFoundError, match="values file components/a/values-eks.yaml of component a"):
        hydrate(recipe, {}, Registry())


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


def test_non_string_keys_are_selected_by_their_text() -> None:
    """YAML int and bool keys (Helm's ports: {80: ...}) as the 404 lists them: 80, true."""
    doc: dict[str, Any] = {"ports": {80: "http", True: "on", False: "off", 1.5: "x"}, "both": {80: "int", "80": "str"}}
    assert select(doc, ("ports", "80")) == "http"
    assert select(doc, ("ports", "true")) == "on"
    assert select(doc, ("ports", "false")) == "off"
    assert select(doc, ("ports", "1", "5")) == "x"  # a float key's dot splits it like a string key's
    assert select(doc, ("both", "80")) == "str"  # a string key wins over a key of the same text
    with pytest.raises(NotFoundError) as caught:
        select(doc, ("ports", "True"))  # YAML's spelling, as listed: true
    assert caught.value.details["available"] == ["80", "true", "false", "1.5"]
    for listed in caught.value.details["available"]:  # every key listed as available can be selected
        assert (
            select(doc, ("ports", *listed.split(".")))
            == doc["ports"][{"80": 80, "true": True, "false": False, "1.5": 1.5}[listed]]
        )


@pytest.mark.parametrize(
    ("node", "article"), [(3, "an int value"), (1.5, "a float value"), (True, "a bool value"), (None, "a null value")]
)
def test_a_scalar_in_the_way_is_named_with_its_article(node: Any, article: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        select({"x": node}, ("x", "y"))
    assert f"({article}, not a mapping)" in caught.value.message


def test_a_list_index_has_one_spelling() -> None:
    """``0``, never ``00`` or ``01``: each item is one selector, so one answer-cache entry."""
    doc: dict[str, Any] = {"l": ["a", "b"]}
    assert select(doc, ("l", "0")) == "a" and select(doc, ("l", "1")) == "b"
    for segment in ("00", "01", "000", "0" * 40, "-0", "+1", "2.0"):
        with pytest.raises(NotFoundError) as caught:
            select(doc, tuple(f"l.{segment}".split(".")))
        assert caught.value.details["found"] == "l"
        assert "index 0 to 1" in caught.value.message
    with pytest.raises(NotFoundError, match="index 0 to 1, no leading zeros"):
        select(doc, ("l", "01"))


def test_not_found_names_the_longest_existing_prefix(recipe: Recipe, store: RecipeStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        query_recipe(recipe, store.files, "componentRefs.gpu-operator.values.driver.nope", store.registry)
    assert caught.value.details["found"] == "componentRefs.gpu-operator.values.driver"
    assert caught.value.details["missing"] == "nope"
    assert "version" in caught.value.details["available"]
    assert "'componentRefs.gpu-operator.values.driver' exists, 'nope' does not" in caught.value.message
    with pytest.raises(NotFoundError) as caught:
        query_recipe(recipe, store.files, "componentRefs.no-such-component.version", store.registry)
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
