"""The ``K8s`` measurement: API server version, this node, container images, GPU ClusterPolicy.

Each part degrades on its own: a missing node name, a forbidden pod list or an absent
ClusterPolicy CRD leaves that subtype out (or empty) and says why, without failing the rest.
Only ClusterPolicies of group ``nvidia.com`` are read.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import partial
from typing import Any

from kubernetes_asyncio import client

from eidos_agent.collectors.base import CollectorResult
from eidos_core.errors import EidosError
from eidos_core.kube.client import api_client, raw_json
from eidos_core.kube.errors import api_errors
from eidos_core.kube.retry import Retrier, RetryPolicy
from eidos_core.snapshot.model import Measurement, Reading, Subtype

GPU_OPERATOR_NAMESPACE = "gpu-operator"
GPU_RESOURCE = "nvidia.com/gpu"
POD_PAGE = 500
POLICY = ("nvidia.com", "v1", "clusterpolicies")
_PROVIDERS = {"aws": "eks", "gce": "gke", "azure": "aks", "oci": "oke"}


def provider_of(provider_id: str) -> str:
    prefix = provider_id.split("://", 1)[0].strip().lower()
    return _PROVIDERS.get(prefix, prefix)


def image_tag(ref: str) -> tuple[str, str] | None:
    """``registry.k8s.io/pause:3.9@sha256:…`` → (``pause``, ``3.9``)."""
    if not ref:
        return None
    short = ref.rsplit("/", 1)[-1].split("@", 1)[0]
    name, sep, tag = short.rpartition(":")
    return (name, tag) if sep else (short, "latest")


def image_readings(pods: Iterable[Mapping[str, Any]]) -> dict[str, Reading]:
    """Image short name → tag over every container of ``pods`` (later pods win on a clash)."""
    out: dict[str, Reading] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        for group in ("initContainers", "containers", "ephemeralContainers"):
            for container in spec.get(group) or []:
                found = image_tag(container.get("image") or "")
                if found:
                    out[found[0]] = found[1]
    return dict(sorted(out.items()))


def flatten_policy(spec: Mapping[str, Any], prefix: str = "") -> dict[str, Reading]:
    """Nested keys joined with '.', every leaf as a string; lists as compact JSON."""
    out: dict[str, Reading] = {}
    for key, value in spec.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_policy(value, path + "."))
        elif isinstance(value, list):
            if value:
                out[path] = json.dumps(value, separators=(",", ":"), sort_keys=True)
        elif isinstance(value, bool):
            out[path] = "true" if value else "false"
        elif value is None:
            out[path] = "<nil>"
        else:
            out[path] = str(value)
    return out


def node_readings(node: Mapping[str, Any]) -> dict[str, Reading]:
    meta = node.get("metadata") or {}
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    out: dict[str, Reading] = {"source-node": meta.get("name", "")}
    provider_id = spec.get("providerID") or ""
    if provider_id:
        out["provider"] = provider_of(provider_id)
        out["provider-id"] = provider_id
    runtime = info.get("containerRuntimeVersion") or ""
    if runtime:
        out["container-runtime-id"] = runtime
        if "://" in runtime:
            out["container-runtime-name"], out["container-runtime-version"] = runtime.split("://", 1)
    for key, field_name in (
        ("kernel-version", "kernelVersion"),
        ("operating-system", "operatingSystem"),
        ("os-image", "osImage"),
        ("kubelet-version", "kubeletVersion"),
        ("architecture", "architecture"),
    ):
        if info.get(field_name):
            out[key] = info[field_name]
    allocatable = (status.get("allocatable") or {}).get(GPU_RESOURCE)
    if allocatable is not None:
        out["gpu.allocatable"] = int(str(allocatable)) if str(allocatable).isdigit() else str(allocatable)
    for label, value in sorted((meta.get("labels") or {}).items()):
        if label.startswith("nvidia.com/"):
            out[f"label.{label}"] = value
    return out


async def collect_k8s(
    api: Any, node_name: str, *, page_size: int = POD_PAGE, retry: RetryPolicy | None = None
) -> CollectorResult:
    """Read the cluster through ``api`` (a kubernetes_asyncio ApiClient).

    Transient API failures are retried under one deadline for the whole collector (``retry``, else
    the current policy); a part that still fails is left out with a note (``partial: …``).
    """
    notes: list[str] = []
    subtypes: list[Subtype] = []
    retrier = Retrier(retry)

    async with api_errors(verb="get", resource="version"):
        version = await retrier.call("get /version", partial(_json_call, client.VersionApi(api).get_code))
    subtypes.append(
        Subtype(
            "server",
            {
                "version": version.get("gitVersion") or "",
                "platform": version.get("platform") or "",
                "goVersion": version.get("goVersion") or "",
            },
        )
    )

    v1 = client.CoreV1Api(api)
    try:
        images: dict[str, Reading] = {}
        token = ""
        paging: dict[str, Any] = {}
        while True:  # in pages: a large cluster's pod list would not fit a small agent's memory
            async with api_errors(verb="list", resource="pods"):
                page = await retrier.call(
                    "list pods",
                    partial(_json_call, v1.list_pod_for_all_namespaces,
                            field_selector="status.phase=Running", limit=page_size, **paging),
                )  # fmt: skip
            images.update(image_readings(page.get("items") or []))
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                break
            paging = {"_continue": token}
        subtypes.append(Subtype("image", dict(sorted(images.items()))))
    except EidosError as exc:
        notes.append(f"image: {exc.message}")

    try:
        async with api_errors(verb="list", resource="clusterpolicies.nvidia.com"):
            policies = await retrier.call(
                "list clusterpolicies", partial(client.CustomObjectsApi(api).list_cluster_custom_object, *POLICY)
            )
        data: dict[str, Reading] = {}
        for item in policies.get("items") or []:
            if isinstance(item.get("spec"), Mapping):
                data.update(flatten_policy(item["spec"]))
        subtypes.append(Subtype("policy", data))
    except EidosError as exc:
        if exc.code == "NOT_FOUND":  # no GPU Operator CRD: nothing to report
            subtypes.append(Subtype("policy", {}))
        else:
            notes.append(f"policy: {exc.message}")

    if not node_name:
        notes.append("node: node name not set (NODE_NAME)")
    else:
        try:
            async with api_errors(verb="get", resource="nodes", name=node_name):
                node = await retrier.call(f"get node {node_name}", partial(_json_call, v1.read_node, node_name))
            subtypes.append(Subtype("node", node_readings(node)))
        except EidosError as exc:
            notes.append(f"node: {exc.message}")
    return CollectorResult("k8s", Measurement("K8s", tuple(subtypes)), notes=tuple(notes))


async def _json_call(method: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    """``method(*args, **kwargs)`` read as raw JSON (see ``raw_json``): a fresh request per call, to retry."""
    return await raw_json(method(*args, _preload_content=False, **kwargs))


class K8sCollector:
    """The K8s measurement through the in-cluster service account (or ``kubeconfig``)."""

    name = "k8s"

    def __init__(self, node_name: str, kubeconfig: str | None = None) -> None:
        self.node_name = node_name
        self.kubeconfig = kubeconfig

    async def collect(self) -> CollectorResult:
        try:
            async with api_client(self.kubeconfig) as api:
                return await collect_k8s(api, self.node_name)
        except EidosError as exc:  # no cluster, API down, version forbidden
            return CollectorResult(self.name, None, skipped_reason=exc.message)
