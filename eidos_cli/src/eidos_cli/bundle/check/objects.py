"""Rendered objects by install step: the plain data the object checks work on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# API groups kube-apiserver serves itself: their kinds need no CRD.
BUILTIN_GROUPS = frozenset(
    {
        "", "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "apps",
        "authentication.k8s.io", "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
        "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io", "networking.k8s.io", "node.k8s.io", "policy", "rbac.authorization.k8s.io",
        "resource.k8s.io", "scheduling.k8s.io", "storage.k8s.io", "storagemigration.k8s.io",
    }
)  # fmt: skip

# Built-in kinds that are cluster-scoped (everything else built in is namespaced).
CLUSTER_SCOPED = frozenset(
    {
        ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"), ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"), ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "CSIDriver"), ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"), ("storage.k8s.io", "VolumeAttributesClass"),
        ("scheduling.k8s.io", "PriorityClass"), ("node.k8s.io", "RuntimeClass"),
        ("networking.k8s.io", "IngressClass"), ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"), ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"), ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"), ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"), ("resource.k8s.io", "DeviceTaintRule"),
        ("storagemigration.k8s.io", "StorageVersionMigration"), ("internal.apiserver.k8s.io", "StorageVersion"),
    }
)  # fmt: skip

# Namespaces every cluster has before anything is installed.
PREEXISTING_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


@dataclass(frozen=True)
class Rendered:
    """One object a step creates: by its chart (``source`` is the template) or an extra manifest."""

    step: int
    component: str
    source: str
    obj: Mapping[str, Any]
    default_namespace: str  # the step's namespace: where an object without metadata.namespace lands

    @property
    def group(self) -> str:
        return group_version(self.obj.get("apiVersion"))[0]

    @property
    def version(self) -> str:
        return group_version(self.obj.get("apiVersion"))[1]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata")
        return str(meta.get("name") or "") if isinstance(meta, Mapping) else ""

    @property
    def explicit_namespace(self) -> str | None:
        meta = self.obj.get("metadata")
        ns = meta.get("namespace") if isinstance(meta, Mapping) else None
        return str(ns) if ns else None

    @property
    def namespace(self) -> str:
        return self.explicit_namespace or self.default_namespace

    def label(self) -> str:
        return f"{self.kind}/{self.name}"


def group_version(api_version: Any) -> tuple[str, str]:
    text = str(api_version or "")
    group, _, version = text.rpartition("/")
    return group, version


@dataclass(frozen=True)
class CrdInfo:
    group: str
    kind: str
    scope: str
    versions: Mapping[str, Mapping[str, Any] | None]  # served version → openAPIV3Schema
    step: int
    component: str


def crd_info(item: Rendered) -> CrdInfo | None:
    if (item.group, item.kind) != ("apiextensions.k8s.io", "CustomResourceDefinition"):
        return None
    spec = item.obj.get("spec")
    if not isinstance(spec, Mapping):
        return None
    names_field = spec.get("names")
    names: Mapping[str, Any] = names_field if isinstance(names_field, Mapping) else {}
    versions: dict[str, Mapping[str, Any] | None] = {}
    for v in spec.get("versions") or []:
        if isinstance(v, Mapping) and v.get("served", True):
            schema = v.get("schema")
            versions[str(v.get("name"))] = schema.get("openAPIV3Schema") if isinstance(schema, Mapping) else None
    return CrdInfo(
        group=str(spec.get("group") or ""),
        kind=str(names.get("kind") or ""),
        scope=str(spec.get("scope") or "Namespaced"),
        versions=versions,
        step=item.step,
        component=item.component,
    )


def crds_by_kind(objects: list[Rendered]) -> dict[tuple[str, str], CrdInfo]:
    """(group, kind) → the first step's CRD for it."""
    out: dict[tuple[str, str], CrdInfo] = {}
    for item in objects:
        info = crd_info(item)
        if info and (info.group, info.kind) not in out:
            out[(info.group, info.kind)] = info
    return out
