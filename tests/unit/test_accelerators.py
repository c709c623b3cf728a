"""The H200, B200 and GB300 accelerators: criteria, detection from GPU product names, overlays."""

from __future__ import annotations

import re

import pytest

from eidos_core import yaml
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, ANY, SERVICES, Criteria, api_pattern, parse_field
from eidos_core.recipe.merge import deep_merge
from eidos_core.snapshot.criteria import accelerator_from_product, criteria_from_snapshot
from eidos_core.snapshot.model import snapshot_from_document
from eidos_core.sources.embedded import embedded_store

NEW = ("h200", "b200", "gb300")


@pytest.mark.parametrize("name", NEW)
def test_new_accelerators_are_criteria_values(name: str) -> None:
    assert name in ACCELERATORS
    assert parse_field("accelerator", f" {name.upper()} ") == name
    assert parse_field("accelerator", name, exact=True) == name
    assert re.fullmatch(api_pattern("accelerator", empty=True), name.upper())


@pytest.mark.parametrize(
    ("product", "accelerator"),
    [
        # nvidia-smi product names
        ("NVIDIA H200", "h200"),
        ("NVIDIA H200 NVL", "h200"),
        ("NVIDIA B200", "b200"),
        ("NVIDIA GB200", "gb200"),
        ("NVIDIA GB300", "gb300"),
        ("NVIDIA H100 80GB HBM3", "h100"),
        ("NVIDIA A100-SXM4-80GB", "a100"),
        ("NVIDIA L40S", "l40"),
        # GPU Operator node labels (nvidia.com/gpu.product)
        ("NVIDIA-H200", "h200"),
        ("NVIDIA-B200", "b200"),
        ("NVIDIA-GB300", "gb300"),
        ("NVIDIA-H100-80GB-HBM3", "h100"),
        # not one of ours: Grace Hopper is not an H200, a B300 is not a B200 or GB300
        ("NVIDIA GH200 480GB", ANY),
        ("NVIDIA B300 SXM6 AC", ANY),
        ("NVIDIA H2000", ANY),
        ("Tesla T4", ANY),
        (None, ANY),
    ],
)
def test_product_names(product: str | None, accelerator: str) -> None:
    assert accelerator_from_product(product) == accelerator


def _snapshot(model: str | None, label: str | None) -> dict[str, object]:
    measurements: list[dict[str, object]] = []
    if label:
        data = {"label.nvidia.com/gpu.product": label}
        measurements.append({"type": "K8s", "subtypes": [{"subtype": "node", "data": data}]})
    if model:
        measurements.append({"type": "GPU", "subtypes": [{"subtype": "smi", "data": {"gpu.model": model}}]})
    return {"kind": "Snapshot", "measurements": measurements}


def test_snapshot_detection_uses_nvidia_smi_then_the_node_label() -> None:
    assert criteria_from_snapshot(snapshot_from_document(_snapshot("NVIDIA B200", None))).accelerator == "b200"
    assert criteria_from_snapshot(snapshot_from_document(_snapshot(None, "NVIDIA-GB300"))).accelerator == "gb300"
    # nvidia-smi wins over the label; an unknown model falls back to the label
    doc = _snapshot("NVIDIA H200", "NVIDIA-H100-80GB-HBM3")
    assert criteria_from_snapshot(snapshot_from_document(doc)).accelerator == "h200"
    doc = _snapshot("NVIDIA GH200 480GB", "NVIDIA-H200")
    assert criteria_from_snapshot(snapshot_from_document(doc)).accelerator == "h200"


def _gpu_operator_values(recipe_criteria: Criteria) -> tuple[dict[str, object], dict[str, str], set[str]]:
    store = embedded_store()
    recipe = build_recipe(store, recipe_criteria)
    ref = next(r for r in recipe.component_refs if r.name == "gpu-operator")
    values = yaml.load(store.files["components/gpu-operator/values.yaml"])
    if ref.values_file != "components/gpu-operator/values.yaml":
        values = deep_merge(values, yaml.load(store.files[ref.values_file]))
    values = deep_merge(values, ref.overrides)
    constraints = {c.name: c.value for c in recipe.constraints}
    return values, constraints, {r.name for r in recipe.component_refs}


@pytest.mark.parametrize("service", [*SERVICES, ANY])
def test_h200_is_hopper(service: str) -> None:
    values, constraints, components = _gpu_operator_values(Criteria(service=service, accelerator="h200"))
    assert constraints["GPU.smi.driver"] == ">= 550"
    assert "nvidia-dra-driver-gpu" not in components
    assert values["migManager"] == {"enabled": True}  # MIG-capable like H100


@pytest.mark.parametrize("service", [*SERVICES, ANY])
def test_b200_needs_r570_open_modules_and_no_imex(service: str) -> None:
    values, constraints, components = _gpu_operator_values(Criteria(service=service, accelerator="b200"))
    assert constraints["GPU.smi.driver"] == ">= 570"
    assert values["driver"]["kernelModuleType"] == "open"  # type: ignore[index]
    assert "nvidia-dra-driver-gpu" not in components  # HGX B200 is NVLink within one node: no IMEX
    assert values["migManager"] == {"enabled": True}


@pytest.mark.parametrize("service", [*SERVICES, ANY])
@pytest.mark.parametrize("intent", ["training", "inference", ANY])
def test_gb300_is_nvl72_like_gb200(service: str, intent: str) -> None:
    values, constraints, components = _gpu_operator_values(
        Criteria(service=service, accelerator="gb300", intent=intent)
    )
    _, gb200_constraints, gb200_components = _gpu_operator_values(
        Criteria(service=service, accelerator="gb200", intent=intent)
    )
    assert constraints["GPU.smi.driver"] == ">= 580"
    assert constraints["K8s.server.version"] == gb200_constraints["K8s.server.version"] == ">= 1.32"
    assert values["driver"]["kernelModuleType"] == "open"  # type: ignore[index]
    assert "nvidia-dra-driver-gpu" in components  # ComputeDomains / IMEX for multi-node NVLink
    assert components == gb200_components


def test_dra_driver_offers_compute_domains_for_gb300() -> None:
    store = embedded_store()
    recipe = build_recipe(store, Criteria(accelerator="gb300"))
    ref = next(r for r in recipe.component_refs if r.name == "nvidia-dra-driver-gpu")
    values = yaml.load(store.files[ref.values_file])
    assert values["resources"]["computeDomains"]["enabled"] is True
