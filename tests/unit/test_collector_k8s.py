from __future__ import annotations

import pytest

from eidos_agent.collectors.base import node_name_from_env
from eidos_agent.collectors.k8s import (
    flatten_policy,
    image_readings,
    image_tag,
    node_readings,
    provider_of,
)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("registry.k8s.io/pause:3.9", ("pause", "3.9")),
        ("ghcr.io/org/image:v1.0", ("image", "v1.0")),
        ("nginx", ("nginx", "latest")),
        ("registry.k8s.io/node-role-controller:v0.5.0@sha256:abc", ("node-role-controller", "v0.5.0")),
        ("repo/img@sha256:abc", ("img", "latest")),
        ("localhost:5000/x:1", ("x", "1")),
        ("", None),
    ],
)
def test_image_tag(ref: str, expected: tuple[str, str] | None) -> None:
    assert image_tag(ref) == expected


def test_images_deduplicated_over_all_container_kinds() -> None:
    pods = [
        {"spec": {"initContainers": [{"image": "nvcr.io/nvidia/driver:580"}], "containers": [{"image": "a/b:1"}]}},
        {"spec": {"containers": [{"image": "a/b:2"}, {"image": "c"}]}},
    ]
    assert image_readings(pods) == {"b": "2", "c": "latest", "driver": "580"}


@pytest.mark.parametrize(
    ("pid", "provider"),
    [
        ("aws:///us-east-1e/i-0", "eks"),
        (" gce ://p/z/n", "gke"),
        ("AZURE:///x", "aks"),
        ("oci://x", "oke"),
        ("kind://x", "kind"),
    ],
)
def test_provider(pid: str, provider: str) -> None:
    assert provider_of(pid) == provider


def test_flatten_policy() -> None:
    spec = {"driver": {"version": "580", "enabled": True, "rdma": {"enabled": False}},
            "daemonsets": {"tolerations": [{"operator": "Exists", "effect": "NoSchedule"}]},
            "empty": {}, "none": None, "n": 5, "nolist": []}  # fmt: skip
    assert flatten_policy(spec) == {
        "driver.version": "580",
        "driver.enabled": "true",
        "driver.rdma.enabled": "false",
        "daemonsets.tolerations": '[{"effect":"NoSchedule","operator":"Exists"}]',
        "none": "<nil>",
        "n": "5",
    }


def test_node_readings() -> None:
    node = {
        "metadata": {
            "name": "n1",
            "labels": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "kubernetes.io/os": "linux"},
        },
        "spec": {"providerID": "aws:///us-east-1e/i-0861"},
        "status": {
            "allocatable": {"nvidia.com/gpu": "8", "cpu": "96"},
            "nodeInfo": {"containerRuntimeVersion": "containerd://1.7.27", "kernelVersion": "6.8.0-1024-aws",
                         "osImage": "Ubuntu 24.04.3 LTS", "operatingSystem": "linux", "kubeletVersion": "v1.33.5-eks"},
        },
    }  # fmt: skip
    r = node_readings(node)
    assert r["source-node"] == "n1" and r["provider"] == "eks"
    assert (r["container-runtime-name"], r["container-runtime-version"]) == ("containerd", "1.7.27")
    assert r["gpu.allocatable"] == 8
    assert r["label.nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert "label.kubernetes.io/os" not in r


def test_node_name_env_order() -> None:
    assert node_name_from_env({"HOSTNAME": "h", "NODE_NAME": " n "}) == "n"
    assert node_name_from_env({"NODE_NAME": "", "KUBERNETES_NODE_NAME": "k"}) == "k"
    assert node_name_from_env({}) == ""
