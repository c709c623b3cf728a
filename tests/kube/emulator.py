"""A kube-apiserver look-alike for tests, built on kmock's ``KubernetesEmulator``.

kmock gives us the HTTP plumbing, request parsing/recording, the scripting DSL
(``emulator['get /x'] << 500``) and the ``objects`` store.  Its built-in
Kubernetes reactions are too loose for the real ``kubernetes_asyncio`` client,
so this subclass replaces them with one dispatcher
(``_serve``) that follows kube-apiserver's rules: integer resource versions,
PUT/PATCH/server-side apply, Status error bodies, watches that resume from a
resource version, selectors, validation and discovery.

User-scripted kmock reactions still win over the dispatcher, so a test can
override any single endpoint with the kmock DSL.

Known simplifications (kube-apiserver does more): server-side apply merges like a
JSON merge patch and tracks no managedFields (so no field-ownership conflicts);
strategic merge patch replaces lists instead of merging them by key; lists always
serve the current state (resourceVersion/resourceVersionMatch on a list are
ignored); pods and namespaces are deleted at once (no kubelet, no namespace
controller: a namespace takes its objects with it immediately); no auth, no
admission beyond the namespace check, no aggregated discovery.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import copy
import dataclasses
import datetime
import json
import random
import re
import traceback
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any, Self

import aiohttp.test_utils
import aiohttp.web
import attrs
import kmock
import yarl
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

JSON = dict[str, Any]

MAX_CONFIGMAP_BYTES = 1024 * 1024  # kube's MaxSecretSize, applied to data + binaryData
MAX_REQUEST_BYTES = 3 * 1024 * 1024  # kube-apiserver refuses larger request bodies
RESOURCE_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclasses.dataclass(frozen=True)
class ApiResource:
    """One servable resource, as discovery describes it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status" splits status writes off the main endpoint; "log" for pods
    field_labels: tuple[str, ...] = ()  # fieldSelector fields beyond metadata.name/namespace
    create_on_update: bool = False  # PUT on a missing object creates it (RBAC does this)
    keep_status_on_create: bool = False  # nodes keep the status they are created with
    custom: bool = False  # CRDs: lists keep kind/apiVersion on items, no strategic merge, PUT needs an RV

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``configmaps`` or ``jobs.batch``: how kube names the resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def ref(self) -> kmock.resource:
        return kmock.resource(self.group, self.version, self.plural)

    @property
    def verbs(self) -> list[str]:
        if self.plural == "namespaces":
            return [v for v in RESOURCE_VERBS if v != "deletecollection"]
        return list(RESOURCE_VERBS)


_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
_RBAC = "rbac.authorization.k8s.io"
_CRDS = "apiextensions.k8s.io"
_ST = ("status",)


def _builtin(group: str, version: str, entries: str) -> tuple[ApiResource, ...]:
    """``"plural Kind ns|cl [status] [short,names]; ..."`` as ApiResources of one group/version."""
    resources = []
    for entry in entries.split(";"):
        plural, kind, scope, *rest = entry.split()
        subresources = ("status",) if "status" in rest else ()
        short = next((tuple(r.split(",")) for r in rest if r != "status"), ())
        resources.append(ApiResource(group, version, plural, kind, scope == "ns", short, subresources))
    return tuple(resources)


# What a kube-apiserver v1.34 serves without any CRD (resource.k8s.io/v1 is GA from 1.34), less
# events.k8s.io and flowcontrol, which no chart of this project renders. Each resource is served at one
# version only (kube serves autoscaling at v1 and v2 over one storage; here that would be two stores).
DEFAULT_RESOURCES: tuple[ApiResource, ...] = (
    ApiResource("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    ApiResource("", "v1", "namespaces", "Namespace", False, ("ns",), _ST, ("status.phase",)),
    ApiResource("", "v1", "nodes", "Node", False, ("no",), _ST, ("spec.unschedulable",), keep_status_on_create=True),
    ApiResource("", "v1", "pods", "Pod", True, ("po",), ("status", "log"), _POD_FIELDS),
    ApiResource("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    ApiResource("", "v1", "secrets", "Secret", True, (), (), ("type",)),
    *_builtin(
        "",
        "v1",
        "endpoints Endpoints ns ep; events Event ns ev; limitranges LimitRange ns limits;"
        "persistentvolumeclaims PersistentVolumeClaim ns status pvc; persistentvolumes PersistentVolume cl status pv;"
        "podtemplates PodTemplate ns; replicationcontrollers ReplicationController ns status rc;"
        "resourcequotas ResourceQuota ns status quota; services Service ns status svc",
    ),
    *_builtin(
        "apps",
        "v1",
        "controllerrevisions ControllerRevision ns; daemonsets DaemonSet ns status ds;"
        "deployments Deployment ns status deploy; replicasets ReplicaSet ns status rs;"
        "statefulsets StatefulSet ns status sts",
    ),
    ApiResource("batch", "v1", "jobs", "Job", True, (), _ST, ("status.successful",)),
    *_builtin("batch", "v1", "cronjobs CronJob ns status cj"),
    *_builtin("autoscaling", "v2", "horizontalpodautoscalers HorizontalPodAutoscaler ns status hpa"),
    *_builtin("policy", "v1", "poddisruptionbudgets PodDisruptionBudget ns status pdb"),
    *_builtin(
        "networking.k8s.io",
        "v1",
        "networkpolicies NetworkPolicy ns netpol; ingresses Ingress ns status ing; ingressclasses IngressClass cl",
    ),
    ApiResource(_RBAC, "v1", "roles", "Role", True, create_on_update=True),
    ApiResource(_RBAC, "v1", "rolebindings", "RoleBinding", True, create_on_update=True),
    ApiResource(_RBAC, "v1", "clusterroles", "ClusterRole", False, create_on_update=True),
    ApiResource(_RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", False, create_on_update=True),
    *_builtin(
        "storage.k8s.io",
        "v1",
        "storageclasses StorageClass cl sc; csidrivers CSIDriver cl; csinodes CSINode cl;"
        "volumeattachments VolumeAttachment cl status",
    ),
    *_builtin("scheduling.k8s.io", "v1", "priorityclasses PriorityClass cl pc"),
    *_builtin(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations MutatingWebhookConfiguration cl;"
        "validatingwebhookconfigurations ValidatingWebhookConfiguration cl;"
        "validatingadmissionpolicies ValidatingAdmissionPolicy cl status;"
        "validatingadmissionpolicybindings ValidatingAdmissionPolicyBinding cl",
    ),
    ApiResource(_CRDS, "v1", "customresourcedefinitions", "CustomResourceDefinition", False, ("crd", "crds"), _ST),
    *_builtin("apiregistration.k8s.io", "v1", "apiservices APIService cl status"),
    *_builtin("certificates.k8s.io", "v1", "certificatesigningrequests CertificateSigningRequest cl status csr"),
    *_builtin("coordination.k8s.io", "v1", "leases Lease ns"),
    *_builtin("discovery.k8s.io", "v1", "endpointslices EndpointSlice ns"),
    *_builtin("node.k8s.io", "v1", "runtimeclasses RuntimeClass cl"),
    *_builtin(
        "resource.k8s.io",
        "v1",
        "deviceclasses DeviceClass cl; resourceclaims ResourceClaim ns status;"
        "resourceclaimtemplates ResourceClaimTemplate ns; resourceslices ResourceSlice cl",
    ),
)

# The GPU Operator's ClusterPolicy CRD (trimmed schema): the emulator starts as a cluster with it installed,
# since the agent reads ClusterPolicies; KubeApiEmulator(preinstalled_crds=()) is a bare cluster.
CLUSTER_POLICY_CRD: JSON = {
    "apiVersion": f"{_CRDS}/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "clusterpolicies.nvidia.com"},
    "spec": {
        "group": "nvidia.com",
        "names": {"kind": "ClusterPolicy", "listKind": "ClusterPolicyList", "plural": "clusterpolicies"},
        "scope": "Cluster",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                "subresources": {"status": {}},
            }
        ],
    },
}
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


# --- errors ---------------------------------------------------------------------------------------


@attrs.frozen
class _ApiError(kmock.KubernetesError):
    """A kmock error with a ``Retry-After`` header, as kube-apiserver sends with 429 (and some 5xx)."""

    retry_after: int | None = None


@attrs.frozen
class _PageNotFound(kmock.KubernetesError):
    """A path nothing serves (an unknown group, version or resource, e.g. a custom resource without its
    CRD): kube-apiserver's last handler answers ``404 page not found`` in plain text, not a Status."""

    status: int = 404
    reason: str = "NotFound"
    message: str = "404 page not found"


def api_error(
    status: int,
    message: str,
    *,
    reason: str | None = None,
    details: JSON | None = None,
    retry_after: int | None = None,
) -> Exception:
    """A kmock error that ``_render_error`` turns into a ``kind: Status`` body."""
    return _ApiError(
        status=status,
        reason=reason or _REASONS.get(status, "Unknown"),
        message=message,
        details=details,
        retry_after=retry_after,
    )


def _details(res: ApiResource, name: str | None, **extra: Any) -> JSON:
    details: JSON = {"name": name} if name else {}
    if res.group:
        details["group"] = res.group
    details["kind"] = res.plural
    details.update(extra)
    return details


def _not_found(res: ApiResource, name: str) -> Exception:
    return api_error(404, f'{res.qualified} "{name}" not found', details=_details(res, name))


def _conflict(res: ApiResource, name: str, why: str) -> Exception:
    message = f'Operation cannot be fulfilled on {res.qualified} "{name}": {why}'
    return api_error(409, message, details=_details(res, name))


def _stale(res: ApiResource, name: str) -> Exception:
    return _conflict(
        res, name, "the object has been modified; please apply your changes to the latest version and try again"
    )


def _bad_request(message: str) -> Exception:
    return api_error(400, message)


@dataclasses.dataclass(frozen=True)
class _Cause:
    field: str
    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueTooLong, FieldValueForbidden
    message: str  # e.g. 'Invalid value: "x": must be ...'


def _invalid(res: ApiResource, name: str, causes: list[_Cause]) -> Exception:
    kind = f"{res.kind}.{res.group}" if res.group else res.kind
    parts = [f"{c.field}: {c.message}" for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: JSON = {"name": name, "group": res.group, "kind": res.kind}
    details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]
    return api_error(422, f'{kind} "{name}" is invalid: {summary}', details=details)


def _status_body(exc: BaseException) -> tuple[int, JSON]:
    if isinstance(exc, kmock.KubernetesError):
        code, reason, message, details = exc.status, exc.reason, exc.message, exc.details
    elif isinstance(exc, aiohttp.web.HTTPException):  # e.g. a body over client_max_size
        code, reason, message, details = exc.status, _REASONS.get(exc.status, exc.reason), exc.text or "", None
    else:  # a bug in the emulator; the kube fixture fails the test on these
        trace = "".join(traceback.format_exception(exc))
        code, reason, message = 500, "InternalError", f"Internal error occurred: {exc!r}"
        details = {"causes": [{"reason": "UnexpectedServerResponse", "message": trace}]}
    body: JSON = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
    body.update(message=message, reason=reason)
    if details:
        body["details"] = details
    body["code"] = code
    return code, body


# --- selectors ------------------------------------------------------------------------------------

_LABEL_EXISTS = re.compile(r"\s*(!?)\s*([A-Za-z0-9./_-]+)\s*")
_LABEL_SET = re.compile(r"\s*([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)\s*")
_LABEL_EQ = re.compile(r"\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*")
_FIELD_EQ = re.compile(r"\s*([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*?)\s*")


def _split_selector(text: str) -> list[str]:
    """Split on commas outside parentheses (``a in (x,y),b``)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclasses.dataclass(frozen=True)
class Selector:
    """labelSelector + fieldSelector, parsed the way kube-apiserver accepts them."""

    labels: tuple[tuple[str, str, frozenset[str]], ...] = ()  # (key, op, values)
    fields: tuple[tuple[str, str, str], ...] = ()  # (path, op, value)

    @classmethod
    def parse(cls, res: ApiResource, label_selector: str = "", field_selector: str = "") -> Selector:
        labels: list[tuple[str, str, frozenset[str]]] = []
        for req in _split_selector(label_selector):
            if m := _LABEL_SET.fullmatch(req):
                values = frozenset(v.strip() for v in m[3].split(",") if v.strip())
                labels.append((m[1], m[2], values))
            elif m := _LABEL_EQ.fullmatch(req):
                labels.append((m[1], "!=" if m[2] == "!=" else "=", frozenset([m[3]])))
            elif m := _LABEL_EXISTS.fullmatch(req):
                labels.append((m[2], "!exists" if m[1] else "exists", frozenset()))
            else:
                raise _bad_request(f"unable to parse requirement: {req.strip()!r}")
        fields: list[tuple[str, str, str]] = []
        allowed = {"metadata.name", "metadata.namespace", *res.field_labels}
        for req in _split_selector(field_selector):
            m = _FIELD_EQ.fullmatch(req)
            if m is None:
                raise _bad_request(f"invalid selector: '{field_selector}'; can't understand '{req}'")
            if m[1] not in allowed:
                raise _bad_request(f"field label not supported: {m[1]}")
            fields.append((m[1], "!=" if m[2] == "!=" else "=", m[3]))
        return cls(tuple(labels), tuple(fields))

    def with_name(self, name: str | None) -> Selector:
        return self if name is None else dataclasses.replace(self, fields=(*self.fields, ("metadata.name", "=", name)))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        obj_labels = (obj.get("metadata") or {}).get("labels") or {}
        for key, op, values in self.labels:
            present = key in obj_labels
            ok = {
                "exists": present,
                "!exists": not present,
                "=": present and obj_labels[key] in values,
                "in": present and obj_labels[key] in values,
                "!=": not present or obj_labels[key] not in values,
                "notin": not present or obj_labels[key] not in values,
            }[op]
            if not ok:
                return False
        return all((_field_value(obj, path) == value) == (op == "=") for path, op, value in self.fields)


# --- patches --------------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: dicts merge, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _bad_request(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve_parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise api_error(422, f"jsonpatch: path {path!r} does not exist")
    return node, parts[-1]


def _json_get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, key = _resolve_parent(doc, parts, path)
    if isinstance(parent, dict) and key in parent:
        return parent[key]
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        return parent[int(key)]
    raise api_error(422, f"jsonpatch: path {path!r} does not exist")


def _json_remove(doc: Any, path: str) -> Any:
    parent, key = _resolve_parent(doc, _pointer(path), path)
    if isinstance(parent, dict) and key in parent:
        return parent.pop(key)
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        return parent.pop(int(key))
    raise api_error(422, f"jsonpatch: cannot remove {path!r}: it does not exist")


def _json_add(doc: Any, path: str, value: Any, *, replace: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent, key = _resolve_parent(doc, parts, path)
    if isinstance(parent, dict):
        if replace and key not in parent:
            raise api_error(422, f"jsonpatch: cannot replace {path!r}: it does not exist")
        parent[key] = copy.deepcopy(value)
    elif isinstance(parent, list):
        index = len(parent) if key == "-" else int(key) if key.isdigit() else -1
        if not 0 <= index <= len(parent) - (1 if replace else 0):
            raise api_error(422, f"jsonpatch: index out of range in {path!r}")
        if replace:
            parent[index] = copy.deepcopy(value)
        else:
            parent.insert(index, copy.deepcopy(value))
    else:
        raise api_error(422, f"jsonpatch: path {path!r} does not exist")
    return doc


def json_patch(doc: Any, operations: list[Any]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, Mapping) or "op" not in op or "path" not in op:
            raise _bad_request(f"jsonpatch: malformed operation {op!r}")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace"):
            doc = _json_add(doc, path, op.get("value"), replace=kind == "replace")
        elif kind == "remove":
            _json_remove(doc, path)
        elif kind in ("move", "copy"):
            value = _json_get(doc, op["from"])
            if kind == "move":
                _json_remove(doc, op["from"])
            doc = _json_add(doc, path, value, replace=False)
        elif kind == "test":
            if _json_get(doc, path) != op.get("value"):
                raise api_error(422, f"jsonpatch: test operation for path {path!r} failed")
        else:
            raise _bad_request(f"jsonpatch: unknown operation {kind!r}")
    return doc


# --- validation -----------------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_DNS_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
_LABEL_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character"
)


def _name_problems(res: ApiResource, name: str) -> list[str]:
    if res.group == _RBAC:  # RBAC names are path segments: "system:controller:x" is fine
        bad = name in (".", "..") or "/" in name or "%" in name
        return ["may not contain '/' or '%' and may not be '.' or '..'"] if bad else []
    if res.plural == "namespaces":
        ok = len(name) <= 63 and _DNS_LABEL.fullmatch(name)
        return [] if ok else [_DNS_LABEL_MSG]
    ok = len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name)
    return [] if ok else [_DNS_SUBDOMAIN_MSG]


def _label_problems(labels: Any) -> list[_Cause]:
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        raise _bad_request("metadata.labels must be a map of strings")
    causes = []
    for key, value in labels.items():
        prefix, _, label = key.rpartition("/")
        key_ok = bool(_LABEL_NAME.fullmatch(label)) and len(label) <= 63
        key_ok = key_ok and (not prefix or (len(prefix) <= 253 and bool(_DNS_SUBDOMAIN.fullmatch(prefix))))
        if not key_ok:
            causes.append(_Cause("metadata.labels", "FieldValueInvalid", f'Invalid value: "{key}": {_LABEL_MSG}'))
        if not isinstance(value, str):
            raise _bad_request(f"metadata.labels[{key}] must be a string")
        if len(value) > 63:
            message = f'Invalid value: "{value}": must be no more than 63 characters'
            causes.append(_Cause("metadata.labels", "FieldValueInvalid", message))
        elif value and not _LABEL_NAME.fullmatch(value):
            causes.append(_Cause("metadata.labels", "FieldValueInvalid", f'Invalid value: "{value}": {_LABEL_MSG}'))
    return causes


def _config_key_problems(key: str) -> list[str]:
    problems = []
    if len(key) > 253:
        problems.append("must be no more than 253 characters")
    if not _CONFIG_KEY.fullmatch(key):
        problems.append(_CONFIG_KEY_MSG)
    if key in (".", ".."):
        problems.append(f"must not be '{key}'")
    elif key.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def _configmap_problems(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[_Cause]:
    causes: list[_Cause] = []
    data = obj.get("data") or {}
    binary = obj.get("binaryData") or {}
    if not isinstance(data, Mapping) or not isinstance(binary, Mapping):
        raise _bad_request("ConfigMap data and binaryData must be maps")
    total = 0
    for section, values in (("data", data), ("binaryData", binary)):
        for key, value in values.items():
            for problem in _config_key_problems(key):
                cause = _Cause(f"{section}[{key}]", "FieldValueInvalid", f'Invalid value: "{key}": {problem}')
                causes.append(cause)
            if not isinstance(value, str):
                raise _bad_request(f"json: cannot unmarshal {type(value).__name__} into ConfigMap.{section} string")
            if section == "data":
                total += len(value.encode())
                if key in binary:
                    message = f'Invalid value: "{key}": duplicate of key present in binaryData'
                    causes.append(_Cause(f"data[{key}]", "FieldValueInvalid", message))
            else:
                try:
                    total += len(base64.b64decode(value, validate=True))
                except ValueError:
                    raise _bad_request(f"illegal base64 data in binaryData[{key}]") from None
    if total > MAX_CONFIGMAP_BYTES:
        causes.append(_Cause("[]", "FieldValueTooLong", f"Too long: must have at most {MAX_CONFIGMAP_BYTES} bytes"))
    if old is not None and old.get("immutable") is True:
        immutable = "field is immutable when `immutable` is set"
        if obj.get("immutable") is not True:
            causes.append(_Cause("immutable", "FieldValueForbidden", f"Forbidden: {immutable}"))
        if data != (old.get("data") or {}) or binary != (old.get("binaryData") or {}):
            causes.append(_Cause("data", "FieldValueForbidden", f"Forbidden: {immutable}"))
    return causes


# --- custom resource definitions -----------------------------------------------------------------

_KUBE_VERSION = re.compile(r"v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key for kube's version priority (preferred first): v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > "foo"."""
    m = _KUBE_VERSION.fullmatch(version)
    if m is None:  # not kube-like: after every kube-like version, alphabetically
        return (3, 0, 0, version)
    stability = {None: 0, "beta": 1, "alpha": 2}[m[2]]
    return (stability, -int(m[1]), -int(m[3] or 0), "")


def _crd_problems(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[_Cause]:
    """The part of apiextensions validation that decides whether a chart's CRD is served at all."""
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return [_Cause("spec", "FieldValueRequired", "Required value")]
    causes: list[_Cause] = []
    group = spec.get("group")
    raw_names = spec.get("names")
    names: Mapping[str, Any] = raw_names if isinstance(raw_names, Mapping) else {}
    plural, kind = names.get("plural"), names.get("kind")
    if not isinstance(group, str) or not group:
        causes.append(_Cause("spec.group", "FieldValueRequired", "Required value"))
    elif "." not in group:
        message = f'Invalid value: "{group}": should be a domain with at least one dot'
        causes.append(_Cause("spec.group", "FieldValueInvalid", message))
    for field, value in (("plural", plural), ("kind", kind)):
        if not isinstance(value, str) or not value:
            causes.append(_Cause(f"spec.names.{field}", "FieldValueRequired", "Required value"))
    name = _meta(obj).get("name")
    if isinstance(plural, str) and isinstance(group, str) and name != f"{plural}.{group}":
        message = f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'
        causes.append(_Cause("metadata.name", "FieldValueInvalid", message))
    scope = spec.get("scope")
    if scope not in ("Namespaced", "Cluster"):
        message = f'Unsupported value: "{scope}": supported values: "Cluster", "Namespaced"'
        causes.append(_Cause("spec.scope", "FieldValueNotSupported", message))
    elif old is not None and scope != (old.get("spec") or {}).get("scope"):
        causes.append(_Cause("spec.scope", "FieldValueInvalid", f'Invalid value: "{scope}": field is immutable'))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        causes.append(_Cause("spec.versions", "FieldValueRequired", "Required value"))
        return causes
    storage = [v for v in versions if isinstance(v, Mapping) and v.get("storage") is True]
    if len(storage) != 1:
        message = (
            "Invalid value: " + json.dumps(versions)[:80] + ": must have exactly one version marked as storage version"
        )
        causes.append(_Cause("spec.versions", "FieldValueInvalid", message))
    for i, version in enumerate(versions):
        if not isinstance(version, Mapping) or not isinstance(version.get("name"), str):
            causes.append(_Cause(f"spec.versions[{i}].name", "FieldValueRequired", "Required value"))
            continue
        schema = version.get("schema")
        if not isinstance(schema, Mapping) or not isinstance(schema.get("openAPIV3Schema"), Mapping):
            message = "Required value: schemas are required"
            causes.append(_Cause(f"spec.versions[{i}].schema.openAPIV3Schema", "FieldValueRequired", message))
    return causes


def _crd_resources(crd: Mapping[str, Any]) -> list[ApiResource]:
    """The resources a (valid) CRD serves: one per served version."""
    spec = crd["spec"]
    names = spec["names"]
    served = []
    for version in spec["versions"]:
        if version.get("served") is False:
            continue
        subresources = ("status",) if "status" in (version.get("subresources") or {}) else ()
        served.append(
            ApiResource(
                spec["group"],
                version["name"],
                names["plural"],
                names["kind"],
                spec["scope"] == "Namespaced",
                tuple(names.get("shortNames") or ()),
                subresources,
                custom=True,
            )
        )
    return served


def _crd_defaults_and_status(crd: JSON, old_status: Mapping[str, Any] | None) -> None:
    """What apiextensions-apiserver does at once: default the names, accept them, mark the CRD Established."""
    names = crd["spec"]["names"]
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    crd["spec"].setdefault("conversion", {"strategy": "None"})
    stored = list((old_status or {}).get("storedVersions") or [])
    storage = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage") is True)
    if storage not in stored:
        stored.append(storage)
    now = _now()
    conditions = (old_status or {}).get("conditions") or [  # kept as they are: a no-op write stays a no-op
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"}
        | {"lastTransitionTime": now},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}
        | {"message": "the initial names have been accepted", "lastTransitionTime": now},
    ]
    crd["status"] = {"acceptedNames": copy.deepcopy(names), "conditions": conditions, "storedVersions": stored}


# --- watch and fault bookkeeping ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Event:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: ApiResource
    obj: JSON
    old: JSON | None  # previous state of a MODIFIED object, to turn selector transitions into ADDED/DELETED


@dataclasses.dataclass(eq=False)
class _Watch:
    resource: ApiResource
    namespace: str | None
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    ending: str | None = None  # "drop" (clean end of stream), "abort" (cut TCP), "expire" (410 then end)
    bookmark: bool = False


@dataclasses.dataclass(eq=False)
class _Fault:
    verb: str  # kube verb or "*"
    resource: str  # "configmaps", "jobs.batch", "pods/log", or "*"
    namespace: str | None  # None: any
    status: int
    reason: str | None = None
    message: str | None = None
    remaining: int | None = None  # None: until removed
    in_watch: bool = False  # answer inside the watch stream as an ERROR event instead of an HTTP error
    retry_after: int | None = None  # seconds, sent as the Retry-After header
    drop: bool = False  # cut the TCP connection instead of answering (status unused)

    def matches(self, verb: str, res: ApiResource, sub: str | None, namespace: str | None) -> bool:
        names = {"*", res.plural, res.qualified} if sub is None else {"*", f"{res.plural}/{sub}"}
        return (
            self.verb in ("*", verb)
            and self.resource in names
            and (self.namespace is None or self.namespace == namespace)
        )


def _watch_window(params: Mapping[str, str]) -> tuple[int | None, float | None]:
    """A watch's resourceVersion (None: start from the current state) and timeoutSeconds."""
    rv_param = params.get("resourceVersion") or ""
    try:
        since = int(rv_param) if rv_param not in ("", "0") else None
        timeout = float(params["timeoutSeconds"]) if params.get("timeoutSeconds") else None
    except ValueError:
        raise _bad_request(f"invalid resourceVersion or timeoutSeconds: {rv_param!r}") from None
    return since, timeout


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: Mapping[str, Any]) -> JSON:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _without_rv(obj: Mapping[str, Any]) -> JSON:
    stripped = dict(obj)
    stripped["metadata"] = {k: v for k, v in _meta(obj).items() if k != "resourceVersion"}
    return stripped


def _json_response(body: Any, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json")


class _ApiHttpServer(aiohttp.test_utils.RawTestServer):
    """aiohttp's raw test server, but with kube-apiserver's 3 MiB body limit and a quick shutdown."""

    async def _make_runner(self, debug: bool = True, **kwargs: Any) -> aiohttp.web.ServerRunner:
        def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> aiohttp.web.BaseRequest:
            loop = asyncio.get_running_loop()
            return aiohttp.web.BaseRequest(
                message, payload, protocol, writer, task, loop, client_max_size=MAX_REQUEST_BYTES
            )

        server = aiohttp.web.Server(self._handler, request_factory=make_request, debug=debug, **kwargs)
        return aiohttp.web.ServerRunner(server, debug=debug, shutdown_timeout=2.0, **kwargs)


def default_version(git_version: str = "v1.34.2", platform: str = "linux/amd64") -> dict[str, str]:
    """A /version body; managed clusters (``-eks-``, ``-gke.``) report the minor as ``32+``."""
    m = re.match(r"v(\d+)\.(\d+)", git_version)
    major, minor = (m[1], m[2]) if m else ("1", "0")
    if re.match(r"v\d+\.\d+\.\d+-", git_version):
        minor += "+"
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "0" * 40,
        "gitTreeState": "clean",
        "buildDate": "2025-04-22T00:00:00Z",
        "goVersion": "go1.23.8",
        "compiler": "gc",
        "platform": platform,
    }


# --- the emulator ---------------------------------------------------------------------------------


@attrs.define(kw_only=True, eq=False)
class KubeApiEmulator(kmock.KubernetesEmulator):
    """kmock's KubernetesEmulator made strict enough for the real kubernetes_asyncio client.

    Use ``async with KubeApiEmulator() as api:`` (serves on ``api.url``), or the ``kube`` pytest fixture.
    Test-facing controls: ``put_object``/``get_object``/``delete_object``/``list_objects`` (seed and read
    state directly), ``forbid``/``allow``, ``fail_next``, ``drop_next``, ``fail_next_watch``, ``expire_watches``,
    ``compact``, ``drop_watches``, ``send_bookmarks``, ``set_version``, ``add_resource``,
    ``stop``/``start`` (same port).
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free one on first start, then keep it for restarts
    user: str = "system:anonymous"  # who 403 messages blame
    require_namespaces: bool = True  # creating in a missing namespace answers 404, as NamespaceLifecycle does
    event_history: int = 10_000  # watch events kept for resuming; older resource versions answer 410
    version_info: dict[str, str] = attrs.field(factory=default_version)
    pod_logs: dict[tuple[str, str], str] = attrs.field(factory=dict)  # (namespace, pod) -> text for pods/log
    # CRDs present from the start (created as if applied before the test); () for a bare cluster.
    preinstalled_crds: tuple[JSON, ...] = attrs.field(factory=lambda: (CLUSTER_POLICY_CRD,))

    _api: dict[tuple[str, str, str], ApiResource] = attrs.field(factory=dict, init=False)
    _rv: int = attrs.field(default=1000, init=False)
    _events: list[_Event] = attrs.field(factory=list, init=False)
    _compacted_rv: int = attrs.field(default=0, init=False)
    _watches: set[_Watch] = attrs.field(factory=set, init=False)
    _faults: list[_Fault] = attrs.field(factory=list, init=False)
    _watch_opened: asyncio.Event = attrs.field(factory=asyncio.Event, init=False)
    _http: _ApiHttpServer | None = attrs.field(default=None, init=False)
    _crd_served: dict[str, list[tuple[str, str, str]]] = attrs.field(factory=dict, init=False)  # CRD name -> keys

    def __attrs_post_init__(self) -> None:
        # Deliberately no super(): kmock's built-in fallback reactions are replaced by _serve().
        for res in DEFAULT_RESOURCES:
            self.add_resource(res)
        for namespace in DEFAULT_NAMESPACES:
            self.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for crd in self.preinstalled_crds:
            self.put_object(crd)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        if self._http is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._entered == 1:
            await self.stop()
        await super().__aexit__(*exc_info)

    async def start(self) -> None:
        """Listen on host:port; after ``stop()`` this reuses the same port, like a restarted apiserver."""
        if self._http is not None:
            raise RuntimeError("the emulator is already serving")
        server = _ApiHttpServer(self, host=self.host, port=self.port)
        await server.start_server()
        assert server.port is not None
        self.port = server.port
        self._http = server

    async def stop(self) -> None:
        """Stop listening: open watches end, new connections are refused; the stored state survives."""
        if self._http is None:
            return
        self.drop_watches()
        server, self._http = self._http, None
        await server.close()

    @property
    def running(self) -> bool:
        return self._http is not None

    @property
    def url(self) -> yarl.URL:
        return yarl.URL.build(scheme="http", host=self.host, port=self.port)

    @property
    def resource_version(self) -> int:
        """The current global resource version (what a list would report)."""
        return self._rv

    @property
    def _namespaces(self) -> ApiResource:
        return self._api["", "v1", "namespaces"]

    @property
    def internal_errors(self) -> list[Exception]:
        """Errors other than deliberate API errors: bugs in the emulator, which tests should not hit.

        A client that goes away mid-response (a watcher process terminated) is not a bug."""
        expected = (kmock.KubernetesError, aiohttp.web.HTTPException, ConnectionError)
        return [e for e in self.errors if not isinstance(e, expected)]

    # -- configuration -----------------------------------------------------------------------------

    def add_resource(self, res: ApiResource) -> None:
        """Make a resource discoverable and servable without a CRD object (prefer ``put_object`` of a CRD)."""
        self._api[res.group, res.version, res.plural] = res

    def served(self, api_version: str, kind: str) -> ApiResource | None:
        """The resource serving apiVersion/kind now (built in, or from an established CRD), if any."""
        return next((r for r in self._api.values() if (r.api_version, r.kind) == (api_version, kind)), None)

    @staticmethod
    def _is_crd(res: ApiResource) -> bool:
        return (res.group, res.plural) == (_CRDS, "customresourcedefinitions")

    def _sync_crd(self, crd: JSON, *, deleted: bool) -> None:
        """Serve (or stop serving) what a CRD defines, as apiextensions-apiserver does once it is Established."""
        name = _meta(crd)["name"]
        for key in self._crd_served.pop(name, []):
            self._api.pop(key, None)
        if not deleted:
            served = _crd_resources(crd)
            for res in served:
                self.add_resource(res)
            self._crd_served[name] = [(r.group, r.version, r.plural) for r in served]

    def set_version(self, git_version: str, platform: str = "linux/amd64", **overrides: str) -> None:
        self.version_info = default_version(git_version, platform) | overrides

    def resolve(self, ref: str) -> ApiResource:
        """Find a resource by plural, kind, short name, ``plural.group``, ``group/version/plural`` or ``v1/plural``."""
        found = {
            res
            for res in self._api.values()
            if ref in (res.plural, res.kind, res.qualified, f"{res.api_version}/{res.plural}", *res.short_names)
            or ref.lower() == res.kind.lower()
        }
        if len(found) != 1:
            raise LookupError(f"{ref!r} names {len(found)} served resources; qualify it as plural.group")
        return found.pop()

    def _resource_for(self, obj: Mapping[str, Any]) -> ApiResource:
        for res in self._api.values():
            if res.api_version == obj.get("apiVersion") and res.kind == obj.get("kind"):
                return res
        raise LookupError(f"no served resource for apiVersion={obj.get('apiVersion')!r} kind={obj.get('kind')!r}")

    # -- direct state access for tests (no HTTP, no validation, but real RVs and watch events) ----

    def put_object(self, obj: Mapping[str, Any]) -> JSON:
        """Create or overwrite an object as-is (status included); namespaces are created as needed."""
        res = self._resource_for(obj)
        new = copy.deepcopy(dict(obj))
        meta = new.setdefault("metadata", {})
        if self._is_crd(res) and (problems := _crd_problems(new, None)):
            raise ValueError(f"invalid CustomResourceDefinition: {problems}")
        if res.namespaced:
            meta.setdefault("namespace", "default")
            if self._current(self._namespaces, None, meta["namespace"]) is None:
                self.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": meta["namespace"]}})
        old = self._current(res, meta.get("namespace"), meta["name"])
        if old is None:
            self._stamp_new(res, new, reset_status=False)
            return self._commit(res, new, "ADDED", None)
        for key in ("uid", "creationTimestamp"):
            meta.setdefault(key, _meta(old)[key])
        return self._commit(res, new, "MODIFIED", old)

    def get_object(self, resource: str, namespace: str | None, name: str) -> JSON | None:
        return self._current(self.resolve(resource), namespace, name)

    def delete_object(self, resource: str, namespace: str | None, name: str) -> bool:
        """Remove an object at once (finalizers ignored); watchers see DELETED."""
        res = self.resolve(resource)
        old = self._current(res, namespace, name)
        if old is not None:
            self._remove(res, old)
        return old is not None

    def list_objects(self, resource: str, namespace: str | None = None) -> list[JSON]:
        return self._select(self.resolve(resource), namespace, Selector())

    # -- scripted failures -------------------------------------------------------------------------

    def forbid(self, verb: str, resource: str, namespace: str | None = None) -> None:
        """Answer 403 Forbidden (RBAC-style message) to verb on resource until allowed.

        As in RBAC rules: verb is a kube verb (get, list, watch, create, update, patch, delete,
        deletecollection) or "*"; resource is a plural ("configmaps", "jobs.batch", "pods/log") or "*".
        """
        self._faults.append(_Fault(verb, self._fault_resource(resource), namespace, 403))

    def allow(self, verb: str | None = None, resource: str | None = None, namespace: str | None = None) -> None:
        """Undo ``forbid`` for exactly these arguments; with no arguments, undo every forbid."""
        self._faults = [
            f
            for f in self._faults
            if not (
                f.status == 403
                and f.remaining is None
                and (verb is None or (f.verb, f.resource, f.namespace) == (verb, resource, namespace))
            )
        ]

    def fail_next(
        self,
        verb: str,
        resource: str,
        status: int = 500,
        *,
        count: int = 1,
        namespace: str | None = None,
        reason: str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with an HTTP error Status (e.g. 429, 500, 503);
        ``retry_after`` adds that ``Retry-After`` header (seconds), as API Priority and Fairness does on 429."""
        resource = self._fault_resource(resource)
        self._faults.append(_Fault(verb, resource, namespace, status, reason, message, count, retry_after=retry_after))

    def drop_next(self, verb: str, resource: str, *, count: int = 1, namespace: str | None = None) -> None:
        """Cut the TCP connection of the next ``count`` matching requests without answering (an
        apiserver restarting, a load balancer resetting): the client sees the server disconnect.
        The request is not carried out."""
        resource = self._fault_resource(resource)
        self._faults.append(_Fault(verb, resource, namespace, 0, remaining=count, drop=True))

    def fail_next_watch(
        self, status: int = 410, resource: str = "*", *, count: int = 1, message: str | None = None
    ) -> None:
        """The next ``count`` watches on resource get one ERROR event with this Status code, then the stream ends."""
        resource = self._fault_resource(resource)
        self._faults.append(_Fault("watch", resource, None, status, None, message, count, in_watch=True))

    def compact(self) -> None:
        """Forget the event history: watching from any resource version older than now answers 410 Gone."""
        self._compacted_rv = self._rv
        self._events.clear()

    def expire_watches(self, resource: str | None = None) -> None:
        """Compact, and have every open watch receive a 410 Expired ERROR event and end."""
        self.compact()
        self._end_watches(resource, "expire")

    def drop_watches(self, resource: str | None = None, *, abort: bool = False) -> None:
        """End open watch streams: cleanly (like a watch timeout) or, with abort=True, by cutting the TCP
        connection (the client sees a broken response)."""
        self._end_watches(resource, "abort" if abort else "drop")

    def send_bookmarks(self, resource: str | None = None) -> None:
        """Send a BOOKMARK at the current resource version to open watches that allowed bookmarks."""
        for watch in self._matching_watches(resource):
            watch.bookmark = True
            watch.wake.set()

    def watch_count(self, resource: str | None = None) -> int:
        return len(self._matching_watches(resource))

    async def wait_for_watches(self, count: int = 1, resource: str | None = None, *, within: float = 5.0) -> None:
        """Wait until at least ``count`` watches are open (to avoid racing a watch that is still connecting)."""
        async with asyncio.timeout(within):
            while self.watch_count(resource) < count:
                self._watch_opened.clear()
                await self._watch_opened.wait()

    def _fault_resource(self, resource: str) -> str:
        """Refuse typos early: a fault on a resource nobody serves would silently never fire."""
        base = resource.split("/")[0]
        if resource != "*" and not any(base in (r.plural, r.qualified) for r in self._api.values()):
            raise LookupError(f"{resource!r} is not a served resource (use its plural, e.g. 'configmaps')")
        return resource

    def _matching_watches(self, resource: str | None) -> list[_Watch]:
        res = None if resource is None else self.resolve(resource)
        return [w for w in self._watches if res is None or w.resource == res]

    def _end_watches(self, resource: str | None, how: str) -> None:
        for watch in self._matching_watches(resource):
            watch.ending = how
            watch.wake.set()

    def _check_faults(self, verb: str, res: ApiResource, sub: str | None, ns: str | None, name: str | None) -> bool:
        """Raise the scripted error for this request, if any; True: drop the connection instead."""
        for fault in self._faults:
            if fault.in_watch or not fault.matches(verb, res, sub, ns):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            if fault.drop:
                return True
            if fault.status == 403 and fault.message is None:
                raise self._forbidden(verb, res, sub, ns, name)
            message = fault.message or f"scripted {fault.status} for {verb} {res.qualified}"
            details = _details(res, name)
            raise api_error(fault.status, message, reason=fault.reason, details=details, retry_after=fault.retry_after)
        return False

    def _take_watch_fault(self, res: ApiResource, ns: str | None) -> _Fault | None:
        for fault in self._faults:
            if fault.in_watch and fault.matches("watch", res, None, ns):
                assert fault.remaining is not None
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _forbidden(self, verb: str, res: ApiResource, sub: str | None, ns: str | None, name: str | None) -> Exception:
        target = f'{res.qualified} "{name}"' if name else res.qualified
        resource = f"{res.plural}/{sub}" if sub else res.plural
        scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        message = (
            f'{target} is forbidden: User "{self.user}" cannot {verb} resource "{resource}" '
            f'in API group "{res.group}" {scope}'
        )
        return api_error(403, message, details=_details(res, name))

    # -- storage -----------------------------------------------------------------------------------

    def _current(self, res: ApiResource, ns: str | None, name: str) -> JSON | None:
        key = (res.ref, ns if res.namespaced else None, name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(self.objects[key].raw)

    def _select(self, res: ApiResource, ns: str | None, selector: Selector) -> list[JSON]:
        found = [
            (key[1] or "", key[2], obj)
            for key, obj in self.objects.items()
            if key[0] == res.ref and (ns is None or key[1] == ns) and not obj.deleted
        ]
        found.sort(key=lambda item: (item[0], item[1]))  # etcd order: by namespace, then name
        objs = [copy.deepcopy(obj.raw) for _, _, obj in found]
        return [obj for obj in objs if selector.matches(obj)]

    def _commit(self, res: ApiResource, obj: JSON, event: str, old: JSON | None) -> JSON:
        """Store a new version with the next resource version and tell the watches."""
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        meta = obj["metadata"]
        key = (res.ref, meta.get("namespace") if res.namespaced else None, meta["name"])
        if event == "DELETED":
            self.objects[key].delete()
        elif key in self.objects:
            self.objects[key].history.append(copy.deepcopy(obj))
        else:
            self.objects[key] = copy.deepcopy(obj)
        self._events.append(_Event(self._rv, event, res, copy.deepcopy(obj), old))
        if self._is_crd(res):
            self._sync_crd(obj, deleted=event == "DELETED")
        if len(self._events) > self.event_history:
            dropped = self._events[: len(self._events) - self.event_history]
            del self._events[: len(dropped)]
            self._compacted_rv = dropped[-1].rv
        for watch in self._watches:
            watch.wake.set()
        return obj

    def _remove(self, res: ApiResource, obj: JSON) -> JSON:
        if res.plural == "namespaces" and not res.group:  # the namespace controller empties it first
            name = _meta(obj)["name"]
            for other in self._api.values():
                if other.namespaced:
                    for child in self._select(other, name, Selector()):
                        self._commit(other, child, "DELETED", None)
        if self._is_crd(res):  # the CRD's cleanup finalizer deletes every instance, then its endpoints go
            for key in self._crd_served.get(_meta(obj)["name"], []):
                served = self._api[key]
                for child in self._select(served, None, Selector()):
                    self._commit(served, child, "DELETED", None)
                for watch in self._watches:
                    if watch.resource == served:
                        watch.ending = "drop"
                        watch.wake.set()
        return self._commit(res, copy.deepcopy(obj), "DELETED", None)

    def _stamp_new(self, res: ApiResource, obj: JSON, *, reset_status: bool) -> None:
        meta = obj["metadata"]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if "spec" in obj or res.custom:
            meta.setdefault("generation", 1)
        if res.plural == "namespaces" and not res.group:
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("status", {"phase": "Active"})
        if reset_status and "status" in res.subresources and not res.keep_status_on_create:
            obj.pop("status", None)
            if res.kind == "Pod":
                obj["status"] = {"phase": "Pending"}
            elif res.kind == "Namespace":
                obj["status"] = {"phase": "Active"}
        if self._is_crd(res):
            _crd_defaults_and_status(obj, None)

    # -- API verbs ---------------------------------------------------------------------------------

    def _decode(self, res: ApiResource, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise _bad_request(f"the body of the request is not a {res.kind} object")
        obj = copy.deepcopy(body)
        if obj.get("apiVersion") not in (None, res.api_version):
            raise _bad_request(
                f"the API version in the data ({obj['apiVersion']}) does not match the expected API version "
                f"({res.api_version})"
            )
        if obj.get("kind") not in (None, res.kind):
            raise _bad_request(f"the kind in the data ({obj['kind']}) does not match the expected kind ({res.kind})")
        if not isinstance(obj.setdefault("metadata", {}), dict):
            raise _bad_request("metadata must be an object")
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if res.kind == "Secret" and not res.group and isinstance(obj.get("stringData"), dict):
            # kube-apiserver folds the write-only stringData into data (base64) and never stores it
            raw_data = obj.get("data")
            data: JSON = raw_data if isinstance(raw_data, dict) else {}
            for key, value in obj.pop("stringData").items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
        return obj

    def _validate(self, res: ApiResource, obj: JSON, old: JSON | None) -> None:
        meta = obj["metadata"]
        name = meta.get("name") or ""
        causes: list[_Cause] = []
        if not name:
            message = "Required value: name or generateName is required"
            causes.append(_Cause("metadata.name", "FieldValueRequired", message))
        else:
            for problem in _name_problems(res, name):
                causes.append(_Cause("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {problem}'))
        causes += _label_problems(meta.get("labels"))
        if res.kind == "ConfigMap" and not res.group:
            causes += _configmap_problems(obj, old)
        if self._is_crd(res):
            causes += _crd_problems(obj, old)
        if causes:
            raise _invalid(res, name, causes)

    def _create(self, res: ApiResource, ns: str | None, body: Any, *, dry_run: bool) -> JSON:
        obj = self._decode(res, body)
        meta = obj["metadata"]
        if res.namespaced:
            if meta.get("namespace") not in (None, "", ns):
                raise _bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns
            if self.require_namespaces and self._current(self._namespaces, None, ns or "") is None:
                raise _not_found(self._namespaces, ns or "")
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices("bcdfghjklmnpqrstvwxz2456789", k=5))
        if meta.get("resourceVersion"):  # etcd3 store refuses it with a plain error, hence 500
            raise api_error(500, "Internal error occurred: resourceVersion should not be set on objects to be created")
        self._validate(res, obj, None)
        if self._current(res, ns, meta["name"]) is not None:
            message = f'{res.qualified} "{meta["name"]}" already exists'
            raise api_error(409, message, reason="AlreadyExists", details=_details(res, meta["name"]))
        self._stamp_new(res, obj, reset_status=True)
        return obj if dry_run else self._commit(res, obj, "ADDED", None)

    def _check_identity(self, res: ApiResource, ns: str | None, name: str, obj: JSON) -> None:
        meta = obj["metadata"]
        if meta.get("name") != name:
            raise _bad_request(
                f"the name of the object ({meta.get('name') or ''}) does not match the name on the URL ({name})"
            )
        if res.namespaced and meta.get("namespace") not in (None, "", ns):
            raise _bad_request("the namespace of the provided object does not match the namespace sent on the request")

    def _update(
        self, res: ApiResource, ns: str | None, name: str, sub: str | None, body: Any, *, dry_run: bool
    ) -> tuple[JSON, bool]:
        obj = self._decode(res, body)
        self._check_identity(res, ns, name, obj)
        old = self._current(res, ns, name)
        if old is None:
            if sub is None and res.create_on_update:
                obj["metadata"].pop("resourceVersion", None)
                return self._create(res, ns, obj, dry_run=dry_run), True
            raise _not_found(res, name)
        rv = obj["metadata"].get("resourceVersion")
        if not rv and res.custom:
            causes = [
                _Cause(
                    "metadata.resourceVersion",
                    "FieldValueInvalid",
                    "Invalid value: 0x0: must be specified for an update",
                )
            ]
            raise _invalid(res, name, causes)
        if rv and rv != _meta(old)["resourceVersion"]:
            raise _stale(res, name)
        return self._write(res, old, obj, sub, dry_run=dry_run), False

    def _patch(
        self, res: ApiResource, ns: str | None, name: str, sub: str | None, request: kmock.Request, *, dry_run: bool
    ) -> tuple[JSON, bool]:
        assert request._raw_request is not None
        content_type = request._raw_request.content_type.lower()
        old = self._current(res, ns, name)
        try:
            if content_type == "application/apply-patch+yaml":
                patch = YAML(typ="safe").load(request.body or b"{}")
            else:
                patch = json.loads(request.body or b"null")
        except (ValueError, YAMLError) as exc:
            raise _bad_request(f"error decoding patch: {exc}") from None

        if content_type == "application/apply-patch+yaml":
            # Server-side apply, approximated: no managedFields, so no field-ownership conflicts.
            if not request.params.get("fieldManager"):
                causes = [_Cause("fieldManager", "FieldValueRequired", "Required value: is required for apply patch")]
                raise api_error(
                    422,
                    'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                    details={"causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]},
                )
            if not isinstance(patch, dict) or not patch.get("apiVersion") or not patch.get("kind"):
                raise _bad_request("error decoding apply patch: Object 'Kind' or 'apiVersion' is missing")
            applied = self._decode(res, patch)
            applied["metadata"].setdefault("name", name)
            self._check_identity(res, ns, name, applied)
            if old is None:
                if sub is not None:
                    raise _not_found(res, name)
                return self._create(res, ns, applied, dry_run=dry_run), True
            new = merge_patch(old, applied)
        elif old is None:
            raise _not_found(res, name)
        elif content_type == "application/json-patch+json":
            if not isinstance(patch, list):
                raise _bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
            new = json_patch(old, patch)
        elif content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if content_type.startswith("application/strategic") and res.custom:
                raise api_error(
                    415,
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                )
            if not isinstance(patch, dict):
                raise _bad_request("the body of a merge patch must be a JSON object")
            new = merge_patch(old, patch)  # strategic merge is approximated: lists are replaced, not merged by key
        else:
            raise api_error(415, f"the body of the request was in an unknown format: {content_type!r}")

        if not isinstance(new, dict):
            raise api_error(422, "the patch did not result in an object")
        new_rv = _meta(new).get("resourceVersion")
        if new_rv and new_rv != _meta(old)["resourceVersion"]:  # an RV in the patch is a precondition
            raise _stale(res, name)
        return self._write(res, old, self._decode(res, new), sub, dry_run=dry_run), False

    def _write(self, res: ApiResource, old: JSON, incoming: JSON, sub: str | None, *, dry_run: bool) -> JSON:
        """Finish an update: keep server-owned fields, split status off, validate, skip no-op writes."""
        if sub == "status":
            new = copy.deepcopy(old)
            new["status"] = incoming.get("status")
            if new["status"] is None:
                del new["status"]
        else:
            new = incoming
            if "status" in res.subresources:  # the main endpoint ignores status changes
                new.pop("status", None)
                if "status" in old:
                    new["status"] = old["status"]
        meta, old_meta = new["metadata"], old["metadata"]
        for key in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if "generation" in old_meta:
            changed = new.get("spec") != old.get("spec")
            meta["generation"] = old_meta["generation"] + (1 if changed else 0)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        self._validate(res, new, old)
        if self._is_crd(res) and sub is None:
            _crd_defaults_and_status(new, old.get("status"))
        if _without_rv(new) == _without_rv(old):  # kube skips writes that change nothing: same RV, no event
            return old
        if dry_run:
            return new
        committed = self._commit(res, new, "MODIFIED", old)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):  # last finalizer gone: delete now
            self._remove(res, committed)
        return committed

    def _delete(self, res: ApiResource, ns: str | None, name: str, body: Any, *, dry_run: bool) -> JSON:
        old = self._current(res, ns, name)
        if old is None:
            raise _not_found(res, name)
        preconditions = body.get("preconditions") or {} if isinstance(body, dict) else {}
        for field in ("uid", "resourceVersion"):
            wanted, actual = preconditions.get(field), _meta(old).get(field)
            if wanted and wanted != actual:
                why = f"Precondition failed: {field} in precondition: {wanted}, {field} in object meta: {actual}"
                raise _conflict(res, name, why)
        left = self._delete_one(res, old, dry_run=dry_run)
        if _meta(left).get("finalizers"):  # still there, waiting for its finalizers: kube returns the object
            return left
        details = _details(res, name, uid=_meta(old).get("uid"))
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def _delete_one(self, res: ApiResource, old: JSON, *, dry_run: bool) -> JSON:
        """Delete now, or, with finalizers present, only mark it with a deletionTimestamp."""
        meta = _meta(old)
        if not meta.get("finalizers"):
            return old if dry_run else self._remove(res, old)
        if meta.get("deletionTimestamp") or dry_run:
            return old
        new = copy.deepcopy(old)
        new["metadata"].update(deletionTimestamp=_now(), deletionGracePeriodSeconds=0)
        return self._commit(res, new, "MODIFIED", old)

    def _list_body(self, res: ApiResource, items: list[JSON], meta: JSON) -> JSON:
        if not res.custom:  # built-in lists carry no kind/apiVersion on their items
            for item in items:
                item.pop("kind", None)
                item.pop("apiVersion", None)
        return {"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": meta, "items": items}

    def _list(self, res: ApiResource, ns: str | None, selector: Selector, params: Mapping[str, str]) -> JSON:
        items = self._select(res, ns, selector)
        meta: JSON = {"resourceVersion": str(self._rv)}
        if token := params.get("continue"):
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                start_rv, after = int(state["rv"]), tuple(state["after"])
            except (ValueError, KeyError, TypeError):
                raise _bad_request("continue key is not valid") from None
            if start_rv < self._compacted_rv:
                raise api_error(410, "The provided continue parameter is too old to display a consistent list result.")
            items = [i for i in items if (_meta(i).get("namespace") or "", _meta(i)["name"]) > after]
            meta["resourceVersion"] = str(start_rv)
        limit = int(params.get("limit") or 0)
        if 0 < limit < len(items):
            last = _meta(items[limit - 1])
            state = {"rv": int(meta["resourceVersion"]), "after": [last.get("namespace") or "", last["name"]]}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return self._list_body(res, items, meta)

    # -- watch -------------------------------------------------------------------------------------

    async def _watch(
        self,
        raw: aiohttp.web.BaseRequest,
        res: ApiResource,
        ns: str | None,
        selector: Selector,
        params: Mapping[str, str],
    ) -> aiohttp.web.StreamResponse:
        since, timeout = _watch_window(params)
        bookmarks = _truthy(params.get("allowWatchBookmarks"))
        fault = self._take_watch_fault(res, ns)

        response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(raw)

        async def send(event: JSON) -> None:
            await response.write(json.dumps(event).encode() + b"\n")

        def error(code: int, message: str) -> JSON:
            _, status = _status_body(api_error(code, message))
            return {"type": "ERROR", "object": status}

        def bookmark() -> JSON:  # "everything up to here was sent": the cursor, not the global RV
            obj = {"kind": res.kind, "apiVersion": res.api_version, "metadata": {"resourceVersion": str(cursor)}}
            return {"type": "BOOKMARK", "object": obj}

        watch = _Watch(res, ns)
        try:
            if fault is not None:
                await send(error(fault.status, fault.message or f"scripted watch failure {fault.status}"))
                return response
            if since is None:  # no resource version: start with the current state as ADDED events
                cursor = self._rv
                initial = self._select(res, ns, selector)
            elif since < self._compacted_rv:
                await send(error(410, f"too old resource version: {since} ({self._compacted_rv})"))
                return response
            else:
                cursor, initial = since, []
            self._watches.add(watch)
            self._watch_opened.set()
            for obj in initial:
                await send({"type": "ADDED", "object": obj})
            deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
            while True:
                watch.wake.clear()
                if cursor < self._compacted_rv and watch.ending is None:  # fell behind the kept history
                    await send(error(410, f"too old resource version: {cursor} ({self._compacted_rv})"))
                    break
                start = bisect.bisect_right(self._events, cursor, key=lambda e: e.rv)
                for ev in self._events[start:]:
                    cursor = ev.rv
                    if (out := self._event_for(ev, res, ns, selector)) is not None:
                        await send(out)
                if watch.ending == "expire":
                    await send(error(410, f"too old resource version: {cursor} ({self._compacted_rv})"))
                    break
                if watch.ending == "abort" and raw.transport is not None:
                    raw.transport.abort()
                    return response
                if watch.ending is not None:
                    break
                if watch.bookmark:
                    watch.bookmark = False
                    if bookmarks:
                        await send(bookmark())
                remaining = None if deadline is None else deadline - asyncio.get_running_loop().time()
                if remaining is not None and remaining <= 0:
                    if bookmarks:  # kube sends a last bookmark when a watch times out
                        await send(bookmark())
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watch.wake.wait(), remaining)
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away
        finally:
            self._watches.discard(watch)
        return response

    def _event_for(self, ev: _Event, res: ApiResource, ns: str | None, selector: Selector) -> JSON | None:
        """What a watch on (res, ns, selector) sees of an event: a selector change reads as ADDED/DELETED."""
        if ev.resource != res or (ns is not None and _meta(ev.obj).get("namespace") != ns):
            return None
        now = selector.matches(ev.obj)
        if ev.type != "MODIFIED" or ev.old is None:
            return {"type": ev.type, "object": ev.obj} if now else None
        before = selector.matches(ev.old)
        if now:
            return {"type": "MODIFIED" if before else "ADDED", "object": ev.obj}
        return {"type": "DELETED", "object": ev.obj} if before else None

    # -- discovery ---------------------------------------------------------------------------------

    def _group_versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for res in self._api.values():
            versions = groups.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
        for versions in groups.values():  # preferred version first, as kube orders them
            versions.sort(key=version_priority)
        return groups

    def _api_group(self, group: str, versions: list[str]) -> JSON:
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def _resource_list(self, group: str, version: str) -> JSON | None:
        served = [r for r in self._api.values() if (r.group, r.version) == (group, version)]
        if not served:
            return None
        entries: list[JSON] = []
        for res in served:
            entry: JSON = {"name": res.plural, "singularName": res.kind.lower(), "namespaced": res.namespaced}
            entry.update(kind=res.kind, verbs=res.verbs)
            if res.short_names:
                entry["shortNames"] = list(res.short_names)
            entries.append(entry)
            for sub in res.subresources:
                verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
                entries.append(
                    {"name": f"{res.plural}/{sub}", "singularName": "", "namespaced": res.namespaced}
                    | {"kind": res.kind, "verbs": verbs}
                )
        group_version = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}

    def _discovery(self, segments: list[str]) -> JSON | str | None:
        """Answer the non-resource paths; None when the path is a resource path (or unknown)."""
        groups = self._group_versions()
        match segments:
            case []:
                paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]
                for group, versions in groups.items():
                    if group:
                        paths += [f"/apis/{group}"] + [f"/apis/{group}/{v}" for v in versions]
                return {"paths": sorted(paths)}
            case ["healthz" | "livez" | "readyz"]:
                return "ok"
            case ["version"]:
                return dict(self.version_info)
            case ["api"]:
                address = {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}
                return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [address]}
            case ["apis"]:
                listed = [self._api_group(g, v) for g, v in groups.items() if g]
                return {"kind": "APIGroupList", "apiVersion": "v1", "groups": listed}
            case ["apis", group] if group in groups and group:
                return {"kind": "APIGroup", "apiVersion": "v1"} | self._api_group(group, groups[group])
            case ["api", version]:
                return self._resource_list("", version)
            case ["apis", group, version]:
                return self._resource_list(group, version)
        return None

    # -- request dispatch --------------------------------------------------------------------------

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        segments = [s for s in raw_request.path.split("/") if s]
        if segments[-1:] != ["namespaces"] or len(segments) != {"api": 3, "apis": 4}.get(segments[0]):
            return await super().__call__(raw_request)
        group, version = ("", segments[1]) if segments[0] == "api" else (segments[1], segments[2])
        # kmock 0.8's path parser crashes on collection paths ending in /namespaces (list, create and
        # watch namespaces), so these get their kmock Request built here; still recorded and scriptable.
        body = await raw_request.read()
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        request = kmock.Request(
            id=len(self._requests),
            method=raw_request.method,
            url=raw_request.url,
            params=dict(raw_request.query),
            headers=dict(raw_request.headers),
            body=body,
            text=body.decode(errors="replace"),
            data=data,
            resource=kmock.resource(group, version, "namespaces"),
            raw_request=raw_request,
        )
        self._requests.append(request)
        try:
            return await self._handle(request)
        except Exception as exc:
            if not self._errors:
                raise
            self._errors[-1].append(exc)
            return await self._render_error(exc)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        # kmock reactions a test scripted itself (emulator[...] << ...) come first; the emulator's own
        # behaviour is the fallback. KubernetesEmulator._handle is skipped on purpose: its loose
        # object bookkeeping is what _serve replaces.
        if self._payloads:
            with contextlib.suppress(NotImplementedError):  # raised when no scripted reaction answered
                return await super(kmock.KubernetesEmulator, self)._handle(request)
        return await self._serve(request)

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, _PageNotFound):
            return aiohttp.web.Response(status=404, text="404 page not found\n")
        code, body = _status_body(exc)
        response = _json_response(body, code)
        if isinstance(exc, _ApiError) and exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    async def _serve(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        raw = request._raw_request
        assert raw is not None
        method, params = raw.method.upper(), request.params
        segments = [s for s in raw.path.split("/") if s]  # trailing slashes are insignificant, as in kube

        found = self._discovery(segments)
        if found is not None:
            if method != "GET":
                raise api_error(405, f"the server does not allow this method on the requested resource ({method})")
            if isinstance(found, str):
                return aiohttp.web.Response(text=found)
            return _json_response(found)

        res, ns, name, sub = self._route(segments)
        watching = method == "GET" and _truthy(params.get("watch"))
        verbs = {
            ("GET", False): "watch" if watching else "list",
            ("GET", True): "watch" if watching else "get",
            ("POST", False): "create",
            ("PUT", True): "update",
            ("PATCH", True): "patch",
            ("DELETE", True): "delete",
            ("DELETE", False): "deletecollection",
        }
        verb = verbs.get((method, name is not None))
        if verb is None or verb not in res.verbs or (sub == "log" and verb != "get"):
            raise api_error(405, f"the server does not allow this method on the requested resource ({method})")
        if res.namespaced and ns is None and verb not in ("list", "watch"):
            raise api_error(404, "the server could not find the requested resource")
        if self._check_faults(verb, res, sub, ns, name):
            if raw.transport is not None:
                raw.transport.abort()  # no answer at all: the client sees the server disconnect
            return aiohttp.web.Response(status=503)  # never sent

        dry_run = params.get("dryRun") == "All"
        if verb in ("list", "watch", "deletecollection"):
            selector = Selector.parse(res, params.get("labelSelector", ""), params.get("fieldSelector", ""))
            selector = selector.with_name(name)
            if verb == "watch":
                return await self._watch(raw, res, ns, selector, params)
            if verb == "list":
                return _json_response(self._list(res, ns, selector, params))
            # deletecollection answers with the objects it deleted (or marked for deletion).
            gone = [self._delete_one(res, obj, dry_run=dry_run) for obj in self._select(res, ns, selector)]
            return _json_response(self._list_body(res, gone, {"resourceVersion": str(self._rv)}))
        if verb == "create":
            return _json_response(self._create(res, ns, self._body(request), dry_run=dry_run), 201)
        assert name is not None
        if verb == "get":
            obj = self._current(res, ns, name)
            if obj is None:
                raise _not_found(res, name)
            if sub == "log":
                return aiohttp.web.Response(text=self.pod_logs.get((ns or "", name), ""))
            return _json_response(obj)
        if verb == "update":
            obj, created = self._update(res, ns, name, sub, self._body(request), dry_run=dry_run)
            return _json_response(obj, 201 if created else 200)
        if verb == "patch":
            obj, created = self._patch(res, ns, name, sub, request, dry_run=dry_run)
            return _json_response(obj, 201 if created else 200)
        body = self._body(request) if request.body else None
        return _json_response(self._delete(res, ns, name, body, dry_run=dry_run))

    def _route(self, segments: list[str]) -> tuple[ApiResource, str | None, str | None, str | None]:
        if segments[:1] == ["api"] and len(segments) >= 3:
            group, version, rest = "", segments[1], segments[2:]
        elif segments[:1] == ["apis"] and len(segments) >= 4:
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise _PageNotFound()
        ns: str | None = None
        # /api/v1/namespaces/x/status is the namespace's own subresource, not a namespaced "status" resource.
        own_sub = not group and len(rest) == 3 and rest[2] in ("status", "finalize")
        if rest[0] == "namespaces" and len(rest) >= 3 and not own_sub:
            ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise _PageNotFound()
        plural, name, sub = [*rest, None, None][:3]
        res = self._api.get((group, version, plural or ""))
        if res is None or (ns is not None and not res.namespaced) or (sub is not None and sub not in res.subresources):
            raise _PageNotFound()  # e.g. a custom resource before its CRD exists
        return res, ns, name, sub

    @staticmethod
    def _body(request: kmock.Request) -> Any:
        try:
            return json.loads(request.body or b"null")
        except ValueError as exc:
            raise _bad_request(f"the body of the request could not be decoded as JSON: {exc}") from None


# --- a ready-to-use cluster for tests -------------------------------------------------------------


@dataclasses.dataclass
class KubeFixture:
    """What the ``kube`` fixture yields: a running emulator plus a kubeconfig pointing at it."""

    emulator: KubeApiEmulator
    kubeconfig: Path

    @property
    def url(self) -> str:
        return str(self.emulator.url)

    def put(self, obj: Mapping[str, Any]) -> JSON:
        return self.emulator.put_object(obj)

    def get(self, resource: str, namespace: str | None, name: str) -> JSON | None:
        return self.emulator.get_object(resource, namespace, name)

    def delete(self, resource: str, namespace: str | None, name: str) -> bool:
        return self.emulator.delete_object(resource, namespace, name)

    def objects(self, resource: str, namespace: str | None = None) -> list[JSON]:
        return self.emulator.list_objects(resource, namespace)

    async def stop(self) -> None:
        await self.emulator.stop()

    async def start(self) -> None:
        await self.emulator.start()

    @contextlib.asynccontextmanager
    async def api_client(self) -> AsyncIterator[Any]:
        """A kubernetes_asyncio ApiClient for this cluster, leaving the global default config alone."""
        from kubernetes_asyncio import client, config

        configuration = client.Configuration()
        await config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
        async with client.ApiClient(configuration) as api:
            yield api


def write_kubeconfig(path: Path, url: str, namespace: str = "default") -> Path:
    """A plain-http, no-auth kubeconfig (JSON is valid YAML)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulator", "cluster": {"server": url}}],
        "users": [{"name": "emulator", "user": {}}],
        "contexts": [
            {"name": "emulator", "context": {"cluster": "emulator", "user": "emulator", "namespace": namespace}}
        ],
        "current-context": "emulator",
    }
    path.write_text(json.dumps(config, indent=2))
    return path


@contextlib.asynccontextmanager
async def serve_kube(
    directory: Path, resources: Iterable[ApiResource] = (), *, preinstalled_crds: Iterable[JSON] | None = None
) -> AsyncIterator[KubeFixture]:
    """Run an emulator on a free 127.0.0.1 port with a kubeconfig for it in ``directory``.

    ``preinstalled_crds=()`` gives a bare cluster (no ClusterPolicy CRD), as an install replay needs."""
    emulator = (
        KubeApiEmulator() if preinstalled_crds is None else KubeApiEmulator(preinstalled_crds=tuple(preinstalled_crds))
    )
    for res in resources:
        emulator.add_resource(res)
    async with emulator:
        yield KubeFixture(emulator, write_kubeconfig(directory / "kubeconfig", str(emulator.url)))
