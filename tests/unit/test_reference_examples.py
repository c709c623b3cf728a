"""The reference's six worked examples (E1–E6: criteria in, applied overlays and components out)
over the reference's own recipe data.

Where our matcher decides differently from the reference (specificity ignores omitted
fields; ties by name), the expected order is ours: E4 is outcome A, E5 applies monitoring-hpa
(specificity 0) before gke-cos (2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import parse_criteria
from eidos_core.recipe.model import Recipe, RecipeStore
from eidos_core.recipe.result import recipe_to_document, to_json
from eidos_core.sources.directory import load_directory

NGC = "https://helm.ngc.nvidia.com/nvidia"
PROM = "https://prometheus-community.github.io/helm-charts"


@pytest.fixture(scope="module")
def store(reference_data: Path) -> RecipeStore:
    return load_directory(reference_data)


def build(
    store: RecipeStore, service: str = "", accelerator: str = "", os: str = "", intent: str = "", nodes: str = ""
) -> Recipe:
    return build_recipe(store, parse_criteria(service, accelerator, intent, os, nodes))


def refs(recipe: Recipe) -> dict[str, Any]:
    return {r.name: r for r in recipe.component_refs}


def test_e1_gb200_eks_ubuntu_training(store: RecipeStore) -> None:
    r = build(store, service="eks", accelerator="gb200", os="ubuntu", intent="training")
    assert r.applied_overlays == (
        "base", "monitoring-hpa", "eks", "eks-training", "gb200-eks-training", "gb200-eks-ubuntu-training",
    )  # fmt: skip
    assert [(c.name, c.value) for c in r.constraints] == [
        ("K8s.server.version", ">= 1.32.4"),
        ("OS.release.ID", "ubuntu"),
        ("OS.release.VERSION_ID", "24.04"),
        ("OS.sysctl./proc/sys/kernel/osrelease", ">= 6.8"),
    ]
    c = refs(r)
    assert {n: c[n].version for n in c} == {
        "cert-manager": "v1.17.2",
        "gpu-operator": "v25.3.3",
        "nvidia-dra-driver-gpu": "25.8.1",
        "nvsentinel": "v0.6.0",
        "prometheus": "81.2.2",
        "prometheus-adapter": "4.14.0",
        "skyhook-operator": "v0.11.1",
    }
    gpu = c["gpu-operator"]
    assert gpu.values_file == "components/gpu-operator/values-eks-training.yaml"
    assert gpu.manifest_files == (
        "components/gpu-operator/manifests/dcgm-exporter.yaml",
        "components/gpu-operator/manifests/kernel-module-params.yaml",
    )
    assert gpu.overrides == {
        "driver": {"version": "580.82.07", "kernelModuleConfig": {"name": "kernel-module-params"}},
        "cdi": {"enabled": True, "default": False},
        "gdrcopy": {"enabled": True},
    }
    assert c["skyhook-operator"].overrides == {"customization": "ubuntu"}
    assert c["skyhook-operator"].manifest_files == ("components/skyhook-operator/manifests/customization-ubuntu.yaml",)
    assert c["nvidia-dra-driver-gpu"].dependency_refs == ("gpu-operator",)
    assert r.deployment_order == (
        "cert-manager", "gpu-operator", "nvidia-dra-driver-gpu", "nvsentinel",
        "prometheus", "prometheus-adapter", "skyhook-operator",
    )  # fmt: skip


def test_e2_full_document(store: RecipeStore) -> None:
    doc = recipe_to_document(build(store, service="eks", accelerator="gb200", intent="training"), "dev")
    expected = {
        "kind": "recipeResult",
        "apiVersion": "eidos.nvidia.com/v1alpha1",
        "metadata": {"version": "dev",
                     "appliedOverlays": ["base", "monitoring-hpa", "eks", "eks-training", "gb200-eks-training"]},
        "criteria": {"service": "eks", "accelerator": "gb200", "intent": "training", "os": "any"},
        "constraints": [{"name": "K8s.server.version", "value": ">= 1.32.4"}],
        "componentRefs": [
            {"name": "cert-manager", "type": "Helm", "source": "https://charts.jetstack.io", "version": "v1.17.2",
             "valuesFile": "components/cert-manager/values.yaml"},
            {"name": "gpu-operator", "type": "Helm", "source": NGC, "version": "v25.3.3",
             "valuesFile": "components/gpu-operator/values-eks-training.yaml",
             "overrides": {"cdi": {"default": False, "enabled": True},
                           "driver": {"kernelModuleConfig": {"name": "kernel-module-params"}, "version": "580.82.07"},
                           "gdrcopy": {"enabled": True}},
             "dependencyRefs": ["cert-manager"],
             "manifestFiles": ["components/gpu-operator/manifests/dcgm-exporter.yaml",
                               "components/gpu-operator/manifests/kernel-module-params.yaml"]},
            {"name": "nvidia-dra-driver-gpu", "type": "Helm", "source": NGC, "version": "25.8.1",
             "valuesFile": "components/nvidia-dra-driver-gpu/values.yaml", "dependencyRefs": ["gpu-operator"]},
            {"name": "nvsentinel", "type": "Helm", "source": "oci://ghcr.io/nvidia", "version": "v0.6.0",
             "valuesFile": "components/nvsentinel/values.yaml", "dependencyRefs": ["cert-manager"]},
            {"name": "prometheus", "type": "Helm", "source": PROM, "version": "81.2.2",
             "valuesFile": "components/prometheus/values.yaml"},
            {"name": "prometheus-adapter", "type": "Helm", "source": PROM, "version": "4.14.0",
             "valuesFile": "components/prometheus-adapter/values.yaml", "dependencyRefs": ["prometheus"]},
            {"name": "skyhook-operator", "type": "Helm", "source": "https://helm.ngc.nvidia.com/nvidia/skyhook",
             "version": "v0.11.1", "valuesFile": "components/skyhook-operator/values.yaml",
             "overrides": {"customization": "training"}},
        ],
        "deploymentOrder": ["cert-manager", "gpu-operator", "nvidia-dra-driver-gpu", "nvsentinel",
                            "prometheus", "prometheus-adapter", "skyhook-operator"],
    }  # fmt: skip
    assert doc == expected
    assert list(doc) == list(expected)  # field order is part of the contract
    for os_type in ("rhel", "cos", "amazonlinux"):
        other = recipe_to_document(
            build(store, service="eks", accelerator="gb200", intent="training", os=os_type), "dev"
        )
        assert {**other, "criteria": doc["criteria"]} == doc


def test_e3_h100_ubuntu_inference_any_service(store: RecipeStore) -> None:
    r = build(store, accelerator="h100", os="ubuntu", intent="inference")
    assert r.applied_overlays == ("base", "monitoring-hpa", "h100-inference")
    assert r.constraints[0].value == ">= 1.31"
    c = refs(r)
    assert c["gpu-operator"].version == "v25.10.1"
    assert c["gpu-operator"].overrides == {}
    assert c["network-operator"].version == "v25.4.0"
    assert c["network-operator"].dependency_refs == ("cert-manager",)
    assert c["skyhook-operator"].overrides == {"customization": "ubuntu"}
    assert r.deployment_order == (
        "cert-manager", "gpu-operator", "network-operator", "nvsentinel",
        "prometheus", "prometheus-adapter", "skyhook-operator",
    )  # fmt: skip


def test_e4_is_deterministic_outcome_a(store: RecipeStore) -> None:
    query = {"service": "eks", "accelerator": "h100", "os": "ubuntu", "intent": "inference"}
    results = {to_json(recipe_to_document(build(store, **query), "dev")) for _ in range(50)}
    assert len(results) == 1
    r = build(store, **query)
    assert r.applied_overlays == ("base", "monitoring-hpa", "eks", "h100-inference")
    assert dict((c.name, c.value) for c in r.constraints)["K8s.server.version"] == ">= 1.31"
    assert len(r.component_refs) == 7


def test_e5_gke_cos(store: RecipeStore) -> None:
    r = build(store, service="gke", os="cos")
    assert r.applied_overlays == ("base", "monitoring-hpa", "gke-cos")  # our specificity: 0 before 2
    assert [(c.name, c.value) for c in r.constraints] == [("K8s.server.version", ">= 1.25")]
    c = refs(r)
    assert c["gpu-operator"].values_file == "components/gpu-operator/values-gke-cos.yaml"
    assert c["gpu-operator"].manifest_files == ("components/gpu-operator/manifests/dcgm-exporter.yaml",)
    assert r.deployment_order == (
        "cert-manager", "gpu-operator", "nvsentinel", "prometheus", "prometheus-adapter", "skyhook-operator",
    )  # fmt: skip
    assert build(store, service="gke").applied_overlays == ("base", "monitoring-hpa")


def test_e6_no_parameters(store: RecipeStore) -> None:
    r = build(store)
    doc = recipe_to_document(r, "dev")
    assert doc["criteria"] == {"service": "any", "accelerator": "any", "intent": "any", "os": "any"}
    assert r.applied_overlays == ("base", "monitoring-hpa")
    assert doc["constraints"] == [{"name": "K8s.server.version", "value": ">= 1.25"}]
    assert {c.name: c.version for c in r.component_refs} == {
        "cert-manager": "v1.17.2", "gpu-operator": "v25.10.1", "nvsentinel": "v0.6.0",
        "prometheus": "81.2.2", "prometheus-adapter": "4.14.0", "skyhook-operator": "v0.11.1",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "applied", "k8s"),
    [
        ({"service": "eks"}, ("base", "monitoring-hpa", "eks"), ">= 1.28"),
        ({"service": "eks", "accelerator": "h100"}, ("base", "monitoring-hpa", "eks"), ">= 1.28"),
        (
            {"service": "eks", "accelerator": "h100", "intent": "training"},
            ("base", "monitoring-hpa", "eks", "eks-training"),
            ">= 1.30",
        ),
        ({"accelerator": "gb200", "intent": "training"}, ("base", "monitoring-hpa"), ">= 1.25"),
        ({"service": "eks", "nodes": "8"}, ("base", "monitoring-hpa", "eks"), ">= 1.28"),
    ],
)
def test_quick_cases(store: RecipeStore, query: dict[str, str], applied: tuple[str, ...], k8s: str) -> None:
    r = build(store, **query)
    assert r.applied_overlays == applied
    assert dict((c.name, c.value) for c in r.constraints)["K8s.server.version"] == k8s
    if "nodes" in query:
        assert recipe_to_document(r, "dev")["criteria"]["nodes"] == 8


def test_reference_strings_stay_strings(store: RecipeStore) -> None:
    assert store.overlays["gb200-eks-training"].component_refs[2].version == "25.8.1"
    prom = next(r for r in store.base.component_refs if r.name == "prometheus")
    assert prom.version == "81.2.2"
