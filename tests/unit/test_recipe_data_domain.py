"""The domain errors issue 11 found in the embedded recipe data, one test each.

Each test reads the data as a platform engineer would — the values a bundle actually writes,
across every combination where it matters — and failed on the data before the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from itertools import product
from typing import Any

import pytest

from eidos_cli.bundle.bundler import render_bundle
from eidos_core import yaml
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, ANY, INTENTS, OS_TYPES, SERVICES, Criteria, parse_field
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.snapshot.model import snapshot_from_document
from eidos_core.sources.embedded import embedded_store
from eidos_core.validate.evaluate import validate_constraints
from eidos_core.validate.report import ResultStatus
from tests.conftest import SHARED

GPU_TAINT = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
SYSTEM_COMPONENTS = ("cert-manager", "prometheus", "prometheus-adapter", "skyhook-operator")


@cache
def bundle_files(criteria: Criteria) -> dict[str, Any]:
    """The parsed files of the default Helm bundle (no flags) for ``criteria``."""
    store = embedded_store()
    recipe = recipe_from_document(recipe_to_document(build_recipe(store, criteria), "v1"))
    files = render_bundle(recipe, store).files
    return {
        path: yaml.load(data, source=path) if path.endswith("values.yaml") else data.decode()
        for path, data in files.items()
    }


def distinct_recipes() -> Iterator[Criteria]:
    """One query per distinct set of applied overlays (identical recipes are checked once)."""
    store = embedded_store()
    seen: set[tuple[str, ...]] = set()
    for s, a, i, o in product((*SERVICES, ANY), (*ACCELERATORS, ANY), (*INTENTS, ANY), (*OS_TYPES, ANY)):
        criteria = Criteria(s, a, i, o)
        applied = build_recipe(store, criteria).applied_overlays
        if applied not in seen:
            seen.add(applied)
            yield criteria


DISTINCT = list(distinct_recipes())


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def env_of(values: dict[str, Any], section: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in values.get(section, {}).get("env", [])}


def test_no_component_tolerates_every_taint_and_gpu_components_tolerate_the_gpu_taint() -> None:
    # Was: [{operator: Exists}] at every toleration path, so cert-manager, Prometheus, Grafana,
    # the adapter and NFD master landed on GPU nodes and were never evicted from a failed node.
    for criteria in DISTINCT:
        files = bundle_files(criteria)
        for path, values in files.items():
            if not path.endswith("/values.yaml"):
                continue
            for where, node in walk(values):
                if where.endswith("tolerations") and isinstance(node, list):
                    assert all(t.get("key") for t in node), f"{criteria} {path}: {where} tolerates every taint"
        gpu = files["gpu-operator/values.yaml"]
        assert gpu["daemonsets"]["tolerations"] == [GPU_TAINT]
        assert gpu["node-feature-discovery"]["worker"]["tolerations"] == [GPU_TAINT]
        for name in SYSTEM_COMPONENTS:
            if f"{name}/values.yaml" in files:
                nodes = [node for _, node in walk(files[f"{name}/values.yaml"])]
                assert GPU_TAINT not in nodes, f"{name} tolerates the GPU taint"


def test_skyhook_controller_is_a_system_component() -> None:
    # Was classed accelerated: --accelerated-node-selector put the controller on GPU nodes.
    skyhook = embedded_store().registry.get("skyhook-operator")
    assert skyhook is not None
    assert skyhook.system.node_selector_paths == ("controllerManager.selectors",)
    assert not skyhook.accelerated.node_selector_paths and not skyhook.accelerated.toleration_paths


def test_volume_mounts_strategy_comes_with_the_toolkit_settings_it_needs() -> None:
    # Was: DEVICE_LIST_STRATEGY=volume-mounts with a toolkit that ignores the mounts (no GPUs in pods).
    checked = 0
    for criteria in DISTINCT:
        gpu = bundle_files(criteria)["gpu-operator/values.yaml"]
        if env_of(gpu, "devicePlugin").get("DEVICE_LIST_STRATEGY") != "volume-mounts":
            continue
        checked += 1
        assert gpu["toolkit"]["enabled"] is True, f"{criteria}: volume-mounts needs the toolkit we configure"
        assert env_of(gpu, "toolkit") == {
            "ACCEPT_NVIDIA_VISIBLE_DEVICES_AS_VOLUME_MOUNTS": "true",
            "ACCEPT_NVIDIA_VISIBLE_DEVICES_ENVVAR_WHEN_UNPRIVILEGED": "false",
        }, criteria
    assert checked > 0


def test_kernel_module_params_use_the_documented_format_and_keep_profiling_restricted() -> None:
    # Was: "options nvidia NVreg_RestrictProfilingToAdminUsers=0" (modprobe syntax, profiling open to all).
    manifest = bundle_files(Criteria(accelerator="gb200"))["gpu-operator/manifests/kernel-module-params.yaml"]
    conf = yaml.load(manifest)["data"]["nvidia.conf"]
    lines = [line for line in conf.splitlines() if line.strip()]
    assert lines, "the ConfigMap exists to pass parameters"
    for line in lines:
        assert re.fullmatch(r"NVreg_[A-Za-z0-9_]+=\S+", line), f"not a bare NVreg_X=value line: {line!r}"
    assert "RestrictProfilingToAdminUsers=0" not in conf


def test_prometheus_claims_name_a_class_the_service_has() -> None:
    # Was: a 50Gi claim with no storage class, Pending forever where no class is the default.
    classes = {"gke": "standard-rwo", "aks": "managed-csi", "oke": "oci-bv"}
    for criteria in DISTINCT:
        spec = bundle_files(criteria)["prometheus/values.yaml"]["prometheus"]["prometheusSpec"]
        claim = spec.get("storageSpec", {}).get("volumeClaimTemplate")
        if criteria.service in classes:
            assert claim["spec"]["storageClassName"] == classes[criteria.service], criteria
            assert claim["spec"]["resources"]["requests"]["storage"]
        else:
            assert claim is None, f"{criteria}: a claim without a class this service always has"
            assert spec["retentionSize"], "emptyDir data must be bounded"


def test_eks_training_gets_the_efa_device_plugin_on_efa_gpu_nodes_only() -> None:
    # Was: EKS multi-node training had no fabric component at all.
    for criteria in DISTINCT:
        present = "aws-efa-k8s-device-plugin/values.yaml" in bundle_files(criteria)
        assert present == (criteria.service == "eks" and criteria.intent == "training"), criteria
    values = bundle_files(Criteria(service="eks", accelerator="h100", intent="training"))[
        "aws-efa-k8s-device-plugin/values.yaml"
    ]
    assert values["tolerations"] == [GPU_TAINT]
    types = values["supportedInstanceLabels"]["values"]
    assert {"p5.48xlarge", "p5en.48xlarge", "p6-b200.48xlarge", "p6e-gb200.36xlarge"} <= set(types)
    assert not [t for t in types if not re.match(r"(p|g|gr)\d", t)], "CPU instance types in the list"


@pytest.mark.skipif(not (SHARED / "upstream-charts").is_dir(), reason="../shared/upstream-charts is not present")
def test_efa_instance_types_are_ones_the_chart_knows() -> None:
    import tarfile

    with tarfile.open(SHARED / "upstream-charts" / "aws-efa-k8s-device-plugin-v0.5.30.tgz") as tar:
        member = tar.extractfile("aws-efa-k8s-device-plugin/values.yaml")
        assert member is not None
        chart = yaml.load(member.read())
    ours = bundle_files(Criteria(service="eks", intent="training"))["aws-efa-k8s-device-plugin/values.yaml"]
    assert set(ours["supportedInstanceLabels"]["values"]) <= set(chart["supportedInstanceLabels"]["values"])


def os_release_snapshot(version_id: str) -> Any:
    return snapshot_from_document(
        {
            "kind": "Snapshot",
            "apiVersion": "eidos.nvidia.com/v1alpha1",
            "measurements": [
                {"type": "OS", "subtypes": [{"subtype": "release", "data": {"ID": "amzn", "VERSION_ID": version_id}}]}
            ],
        },
        source="test",
    )


@pytest.mark.parametrize("version_id", ["2", "2023"])
def test_al2_and_al2023_nodes_pass_the_amazonlinux_constraints(version_id: str) -> None:
    # Was: os=al2 accepted, but the overlay required VERSION_ID == "2023", so AL2 never validated.
    os_type = parse_field("os", "al2")
    assert os_type == "amazonlinux"
    recipe = build_recipe(embedded_store(), Criteria(service="eks", os=os_type))
    os_constraints = [c for c in recipe.constraints if c.name.startswith("OS.release.")]
    assert os_constraints
    results = validate_constraints(os_constraints, os_release_snapshot(version_id))
    assert [r.status for r in results] == [ResultStatus.PASSED] * len(results), results


def test_no_value_the_charts_ignore() -> None:
    # Was: driver.useOpenKernelModules (a no-op since chart v25.3) and NicClusterPolicy as chart values.
    for criteria in DISTINCT:
        files = bundle_files(criteria)
        assert "useOpenKernelModules" not in str(files["gpu-operator/values.yaml"])
        if "network-operator/values.yaml" in files:
            assert "nicClusterPolicy" not in files["network-operator/values.yaml"], criteria
            manifests = [v for p, v in files.items() if p.startswith("network-operator/manifests/")]
            assert any("kind: NicClusterPolicy" in m for m in manifests), criteria


def test_dra_driver_looks_for_the_driver_where_the_service_puts_it() -> None:
    # The DRA driver (IMEX ComputeDomains on GB200/GB300) reads the driver from the host; it was
    # pointed at the GPU Operator's driver container everywhere, also where GKE or the EKS
    # Amazon Linux AMI installs the driver itself.
    checked = set()
    for criteria in DISTINCT:
        files = bundle_files(criteria)
        if "nvidia-dra-driver-gpu/values.yaml" not in files:
            continue
        driver_enabled = files["gpu-operator/values.yaml"]["driver"]["enabled"]
        expected = (
            "/home/kubernetes/bin/nvidia"
            if criteria.service == "gke"
            else ("/run/nvidia/driver" if driver_enabled else "/")
        )
        assert files["nvidia-dra-driver-gpu/values.yaml"]["nvidiaDriverRoot"] == expected, criteria
        checked.add(expected)
    assert len(checked) == 3
