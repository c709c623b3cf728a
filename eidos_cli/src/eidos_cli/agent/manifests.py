"""The agent's Kubernetes objects, as plain dicts: least-privilege RBAC and the snapshot Job.

Two Job variants: the default is restricted (non-root, read-only root filesystem, all
capabilities dropped; collects what that allows), ``host`` adds the host root at ``/host``,
the systemd socket and host PID so OS and SystemD facts describe the node itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eidos_core.errors import InvalidRequestError

NAME_LABEL = "app.kubernetes.io/name"
CLUSTER_ROLE = "eidos-node-reader"
RBAC_GROUP = "rbac.authorization.k8s.io"
DEFAULT_IMAGE = "ghcr.io/nvidia/eidos/eidos-agent:0.1.0"  # the Containerfile's eidos-agent target
HOST_ROOT = "/host"


@dataclass(frozen=True, slots=True)
class AgentOptions:
    namespace: str = "gpu-operator"
    image: str = DEFAULT_IMAGE
    job_name: str = "eidos"
    service_account: str = "eidos"
    output: str = ""  # the ConfigMap the Job writes (cm://ns/name)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, str]] = ({"operator": "Exists"},)
    image_pull_secrets: Sequence[str] = ()
    host: bool = False
    debug: bool = False


def parse_node_selectors(items: Sequence[str]) -> dict[str, str]:
    """``key=value`` items; the value may itself contain ``=``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidRequestError(f"invalid node selector {item!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def parse_tolerations(items: Sequence[str]) -> list[dict[str, str]]:
    """``key=value:Effect`` or ``key:Effect``; none given means tolerate every taint."""
    if not items:
        return [{"operator": "Exists"}]
    out: list[dict[str, str]] = []
    for item in items:
        parts = item.split(":")
        if len(parts) != 2 or not parts[0].strip():
            raise InvalidRequestError(f"invalid toleration {item!r}: expected key=value:effect or key:effect")
        head, effect = parts[0].strip(), parts[1].strip()
        key, _, value = head.partition("=")
        toleration = {"key": key.strip()}
        if value.strip():
            toleration |= {"operator": "Equal", "value": value.strip()}
        else:
            toleration["operator"] = "Exists"
        if effect:
            toleration["effect"] = effect
        out.append(toleration)
    return out


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {NAME_LABEL: "eidos"}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _rule(group: str, resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


def rbac_objects(opts: AgentOptions) -> list[dict[str, Any]]:
    """What the agent needs and nothing more: write its ConfigMap, read nodes, pods and ClusterPolicies."""
    ns, sa = opts.namespace, opts.service_account
    subject = [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(sa, ns)},
        {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "Role",
            "metadata": _meta(sa, ns),
            "rules": [_rule("", ["configmaps"], ["get", "create", "update"])],
        },
        {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "RoleBinding",
            "metadata": _meta(sa, ns),
            "subjects": subject,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": sa},
        },
        {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "ClusterRole",
            "metadata": _meta(CLUSTER_ROLE),
            "rules": [
                _rule("", ["nodes"], ["get", "list"]),
                _rule("", ["pods"], ["get", "list"]),
                _rule("nvidia.com", ["clusterpolicies"], ["get", "list"]),
            ],
        },
        {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(CLUSTER_ROLE),
            "subjects": subject,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": CLUSTER_ROLE},
        },
    ]


def _restricted() -> tuple[dict[str, Any], dict[str, Any]]:
    pod = {
        "runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
        "seccompProfile": {"type": "RuntimeDefault"},
    }  # fmt: skip
    container = {
        "privileged": False, "runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
    }  # fmt: skip
    return pod, container


def job_object(opts: AgentOptions) -> dict[str, Any]:
    if not opts.output.startswith("cm://"):
        raise InvalidRequestError(f"the agent Job writes to a ConfigMap; got output {opts.output!r}")
    args = ["--output", opts.output, "--namespace", opts.namespace]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    pod_security, container_security = _restricted()
    pod_spec: dict[str, Any] = {}
    resources = {
        "requests": {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "512Mi"},
    }
    if opts.host:
        # Read-only views of the node: its root filesystem and systemd's socket; host PID so
        # /proc describes the node. Root is needed to read them, but nothing is writable.
        args += ["--host-root", HOST_ROOT]
        volumes += [
            {"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}},
            {"name": "run-systemd", "hostPath": {"path": "/run/systemd", "type": "Directory"}},
        ]
        mounts += [
            {"name": "host-root", "mountPath": HOST_ROOT, "readOnly": True},
            {"name": "run-systemd", "mountPath": "/run/systemd", "readOnly": True},
        ]
        pod_spec["hostPID"] = True
        pod_security = {"runAsUser": 0, "runAsGroup": 0}
        container_security = {
            "privileged": False, "runAsUser": 0, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"], "add": ["DAC_READ_SEARCH"]},
        }  # fmt: skip
    container: dict[str, Any] = {
        "name": "eidos",
        "image": opts.image,
        "command": ["python", "-m", "eidos_agent"],
        "args": args,
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "volumeMounts": mounts,
        "securityContext": container_security,
        "resources": resources,
    }
    pod_spec |= {
        "serviceAccountName": opts.service_account,
        "restartPolicy": "Never",
        "securityContext": pod_security,
        "containers": [container],
        "volumes": volumes,
        "tolerations": [dict(t) for t in opts.tolerations],
    }
    if opts.node_selector:
        pod_spec["nodeSelector"] = dict(opts.node_selector)
    if opts.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": s} for s in opts.image_pull_secrets]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(opts.job_name, opts.namespace),
        "spec": {
            "completions": 1,
            "parallelism": 1,
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 3600,
            "activeDeadlineSeconds": 18000,
            "template": {"metadata": {"labels": {NAME_LABEL: "eidos"}}, "spec": pod_spec},
        },
    }
