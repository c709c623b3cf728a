"""Our own embedded recipe data: every overlay is reachable and every query resolves."""

from __future__ import annotations

from itertools import product

from eidos_core import yaml
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, ANY, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.recipe.merge import deep_merge
from eidos_core.recipe.model import Recipe, RecipeStore
from eidos_core.sources.embedded import embedded_store

ALL_QUERIES = [
    Criteria(s, a, i, o)
    for s, a, i, o in product((*SERVICES, ANY), (*ACCELERATORS, ANY), (*INTENTS, ANY), (*OS_TYPES, ANY))
]


def refs(recipe: Recipe) -> dict[str, object]:
    return {r.name: r for r in recipe.component_refs}


def values_of(store: RecipeStore, recipe: Recipe, name: str) -> dict[str, object]:
    ref = next(r for r in recipe.component_refs if r.name == name)
    merged = yaml.load(store.files[f"components/{name}/values.yaml"])
    if ref.values_file != f"components/{name}/values.yaml":
        merged = deep_merge(merged, yaml.load(store.files[ref.values_file]))
    return deep_merge(merged, ref.overrides)


def test_every_query_resolves_and_every_overlay_is_reached() -> None:
    store = embedded_store()
    reached: set[str] = set()
    for query in ALL_QUERIES:
        recipe = build_recipe(store, query)
        order = recipe.deployment_order
        # Every component that needs a webhook certificate comes after cert-manager.
        assert order.index("cert-manager") < order.index("gpu-operator")
        assert {"gpu-operator", "prometheus"} <= set(recipe.deployment_order)
        reached.update(recipe.applied_overlays)
    assert reached == {"base", *store.overlays}


def test_every_values_file_is_a_mapping() -> None:
    store = embedded_store()
    for path, data in store.files.items():
        if "/manifests/" not in path:
            assert isinstance(yaml.load(data, source=path), dict), path


def test_environment_specific_choices() -> None:
    store = embedded_store()
    gke_cos = build_recipe(store, Criteria(service="gke", os="cos"))
    assert values_of(store, gke_cos, "gpu-operator")["driver"] == {
        **values_of(store, build_recipe(store, Criteria()), "gpu-operator")["driver"],  # type: ignore[dict-item]
        "enabled": False,
    }
    eks_al = build_recipe(store, Criteria(service="eks", os="amazonlinux"))
    toolkit = values_of(store, eks_al, "gpu-operator")["toolkit"]
    assert isinstance(toolkit, dict) and toolkit["enabled"] is False  # the AMI's toolkit
    gb200 = build_recipe(store, Criteria(service="eks", accelerator="gb200", intent="training"))
    assert "nvidia-dra-driver-gpu" in refs(gb200)
    assert dict((c.name, c.value) for c in gb200.constraints)["K8s.server.version"] == ">= 1.32"
    aks_train = build_recipe(store, Criteria(service="aks", accelerator="h100", intent="training", os="ubuntu"))
    # the Network Operator after the GPU Operator, whose NFD brings the CRD of its NodeFeatureRule
    assert aks_train.deployment_order.index("gpu-operator") < aks_train.deployment_order.index("network-operator")
    assert values_of(store, aks_train, "gpu-operator")["driver"]["rdma"] == {"enabled": True}  # type: ignore[index]
    eks_train = build_recipe(store, Criteria(service="eks", accelerator="h100", intent="training"))
    assert "network-operator" not in refs(eks_train)  # EKS uses EFA, not the Network Operator
    l40 = build_recipe(store, Criteria(accelerator="l40", intent="inference"))
    assert values_of(store, l40, "gpu-operator")["migManager"] == {"enabled": False}


def test_same_query_thousand_times_one_answer() -> None:
    from eidos_core.recipe.result import recipe_to_document, to_json

    store = embedded_store()
    query = Criteria("eks", "gb200", "training", "ubuntu")
    answers = {to_json(recipe_to_document(build_recipe(store, query), "dev")) for _ in range(1000)}
    assert len(answers) == 1
