"""The agent's Kubernetes objects, as plain dicts: least-privilege RBAC and the snapshot Job.

Two Job variants, both non-root with a read-only root filesystem and no capabilities: the
default collects what that allows (its OS release is the container image's); ``host`` adds the
node's ``/etc/os-release`` read-only at ``/host`` so the snapshot names the node's OS. That
hostPath needs a namespace whose Pod Security level allows it (``privileged``).

GPUs: by default the Job requests one ``nvidia.com/gpu`` through the device plugin, which is how
Kubernetes hands a pod a GPU (and ``nvidia-smi`` with it) however the plugin is configured (CDI,
volume mounts, or the env var). ``all_gpus`` instead asks the NVIDIA container runtime for every
GPU of the node with ``NVIDIA_VISIBLE_DEVICES=all`` and no request: the snapshot then lists every
GPU and the Job also runs on a node whose GPUs are all taken, but it bypasses the device plugin's
accounting and works only where the runtime still honours that variable for unprivileged
containers (``ACCEPT_NVIDIA_VISIBLE_DEVICES_ENVVAR_WHEN_UNPRIVILEGED=false``, which NVIDIA
recommends, turns it off).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eidos_core.errors import InvalidRequestError
from eidos_core.io.uri import Scheme, parse_uri

NAME_LABEL = "app.kubernetes.io/name"
CLUSTER_ROLE = "eidos-node-reader"
RBAC_GROUP = "rbac.authorization.k8s.io"
DEFAULT_IMAGE = "ghcr.io/nvidia/eidos/eidos-agent:0.1.0"  # the Containerfile's eidos-agent target
HOST_ROOT = "/host"
GPU_RESOURCE = "nvidia.com/gpu"


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
    all_gpus: bool = False  # NVIDIA_VISIBLE_DEVICES=all instead of one GPU from the device plugin
    agent_args: Sequence[str] = ()  # more flags for python -m eidos_agent (eidos_agent.flags.job_args)


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {NAME_LABEL: "eidos"}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _rule(group: str, resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


def snapshot_configmap(opts: AgentOptions) -> tuple[str, str]:
    """(namespace, name) of the ConfigMap the Job writes; it must be in the Job's namespace."""
    loc = parse_uri(opts.output)
    if loc.scheme is not Scheme.CONFIGMAP:
        raise InvalidRequestError(f"the agent Job writes to a ConfigMap; got output {opts.output!r}")
    if loc.namespace != opts.namespace:
        raise InvalidRequestError(
            f"the agent Job may only write in its own namespace {opts.namespace!r}, not {loc.namespace!r}: "
            f"use --namespace {loc.namespace} or -o cm://{opts.namespace}/{loc.name}"
        )
    return loc.namespace, loc.name


def binding_name(opts: AgentOptions) -> str:
    """One ClusterRoleBinding per ServiceAccount, so runs from two namespaces never share one."""
    return f"{CLUSTER_ROLE}-{opts.namespace}-{opts.service_account}"[:253]


def rbac_objects(opts: AgentOptions) -> list[dict[str, Any]]:
    """What the agent calls and nothing more: create its ConfigMap, get/update only that one;
    get its node; list pods (images) and GPU Operator ClusterPolicies cluster-wide."""
    ns, sa = opts.namespace, opts.service_account
    _, configmap = snapshot_configmap(opts)
    subject = [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]
    own = {**_rule("", ["configmaps"], ["get", "update"]), "resourceNames": [configmap]}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(sa, ns)},
        {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "Role",
            "metadata": _meta(sa, ns),
            # create cannot be limited by name (the object does not exist yet); get/update can.
            "rules": [_rule("", ["configmaps"], ["create"]), own],
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
                _rule("", ["nodes"], ["get"]),
                _rule("", ["pods"], ["list"]),
                _rule("nvidia.com", ["clusterpolicies"], ["list"]),
            ],
        },
        {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(binding_name(opts)),
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
    snapshot_configmap(opts)
    args = ["--output", opts.output, "--namespace", opts.namespace, *opts.agent_args]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    pod_security, container_security = _restricted()
    pod_spec: dict[str, Any] = {}
    resources: dict[str, dict[str, str]] = {
        "requests": {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "512Mi"},
    }
    env: list[dict[str, Any]] = [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
    if opts.all_gpus:
        # Every GPU of the node from the NVIDIA runtime, past the device plugin: see the module doc.
        env.append({"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"})
    else:
        # One GPU through the device plugin, the one route that works whatever its strategy; the
        # driver, CUDA version and model it shows are node-wide, the node's GPU count is in K8s.
        resources["limits"][GPU_RESOURCE] = "1"
    # Of the driver, only the utilities (nvidia-smi): nothing the snapshot does not use.
    env.append({"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "utility"})
    if opts.host:
        # The one host file that differs from the container's view: the node's os-release
        # (kernel, modules, sysctls and command line are kernel-wide, so /proc already shows
        # the node's). One read-only file, still non-root and without capabilities.
        args += ["--host-root", HOST_ROOT]
        volumes.append({"name": "host-os-release", "hostPath": {"path": "/etc/os-release", "type": "File"}})
        mounts.append({"name": "host-os-release", "mountPath": f"{HOST_ROOT}/etc/os-release", "readOnly": True})
    container: dict[str, Any] = {
        "name": "eidos",
        "image": opts.image,
        "command": ["python", "-m", "eidos_agent"],
        "args": args,
        "env": env,
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
