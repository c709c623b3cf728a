"""Install replay: apply a bundle's rendered objects, step by step, to the Kubernetes API emulator.

Each step is what one ``helm install`` (or one ``kubectl apply -n NS -f``) of the install plan sends to the
API server, in the order those tools send it, through the real kubernetes_asyncio client:

* a Helm release (``Step(helm_release=True)``), as ``helm install NAME CHART -n NS [--create-namespace]``:
  the namespace (only with ``create_namespace``), the release record (a Secret in the release namespace, so
  a missing namespace fails the step as it fails ``helm install``), the chart's ``crds/`` (skipped when
  already there), then every other object is mapped to its API resource *before anything is applied* (an
  unknown kind fails the whole release with Helm's "no matches for kind ... ensure CRDs are installed first"),
  an object that exists and belongs to no or another release fails it too ("cannot be imported into the
  current release"), then pre-install hooks, the objects in Helm's kind order, post-install hooks;
  test hooks are not run;
* plain manifests (``helm_release=False``), as ``kubectl apply -n NS``: in the order given, each mapped and
  applied on its own.

Objects are written with server-side apply (``PATCH application/apply-patch+yaml``), the kind-to-path
mapping comes from the API's own discovery documents, and a step whose objects depend on the cluster
(``helm template`` with the cluster's capabilities) gives a ``render`` callable instead of objects.

Not modelled: readiness (``--wait``: nothing runs in the emulator, so webhooks and hook Jobs count as
done), webhook admission, hook deletion policies, upgrades.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

JSON = dict[str, Any]

# Helm v4 pkg/release/v1/util/kind_sorter.go, InstallOrder: kinds not listed come last, by kind name.
INSTALL_ORDER: tuple[str, ...] = (
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
)
_ORDER = {kind: i for i, kind in enumerate(INSTALL_ORDER)}
HOOK = "helm.sh/hook"
HOOK_WEIGHT = "helm.sh/hook-weight"


# --- rendered objects -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Manifest:
    """One rendered object and where it came from (``# Source:`` of helm template, or a file name)."""

    obj: Mapping[str, Any]
    source: str = ""

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return str(ns) if ns else None

    @property
    def from_crds_dir(self) -> bool:
        """A chart's ``crds/`` file (``chart/crds/x.yaml``, ``chart/charts/sub/crds/x.yaml``), which Helm
        installs before rendering the templates, and never upgrades."""
        parts = self.source.split("/")
        return "crds" in parts[:-1] and "templates" not in parts

    @property
    def hooks(self) -> frozenset[str]:
        annotations = self.metadata.get("annotations") or {}
        value = annotations.get(HOOK) if isinstance(annotations, Mapping) else None
        return frozenset(h.strip() for h in str(value or "").split(",") if h.strip())

    @property
    def hook_weight(self) -> int:
        annotations = self.metadata.get("annotations") or {}
        try:
            return int(annotations.get(HOOK_WEIGHT, 0)) if isinstance(annotations, Mapping) else 0
        except (TypeError, ValueError):
            return 0

    def describe(self) -> str:
        where = f' in namespace "{self.namespace}"' if self.namespace else ""
        return f'{self.kind} "{self.name}"{where}'


def install_order_key(kind: str) -> tuple[int, str]:
    """Helm's lessByKind as a key: listed kinds by position, then unlisted kinds alphabetically."""
    position = _ORDER.get(kind)
    return (0, f"{position:03d}") if position is not None else (1, kind)


def sort_for_install(manifests: Iterable[Manifest]) -> list[Manifest]:
    """Helm's install order within one release (stable: equal kinds keep their rendered order)."""
    return sorted(manifests, key=lambda m: install_order_key(m.kind))


def sort_hooks(hooks: Iterable[Manifest]) -> list[Manifest]:
    """Helm runs hooks by weight, then kind order (sortHooksByKind, then a stable sort by weight)."""
    return sorted(sort_for_install(hooks), key=lambda m: m.hook_weight)


_SOURCE = re.compile(r"^# Source: (.+?)\s*$", re.MULTILINE)
_DOC_SPLIT = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)


def parse_manifests(text: str, source: str = "") -> list[Manifest]:
    """Split multi-document YAML (``helm template`` output or a manifest file) into manifests; a
    document's ``# Source:`` comment names where it came from, else ``source``."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    # A plain "=" (in prometheus-operator's CRDs) is a string to kube's YAML reader, not YAML 1.1's value tag.
    yaml.constructor.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    found = []
    current = source
    for chunk in _DOC_SPLIT.split(text):
        # helm names a file once; its later documents (a file holding several CRDs) belong to it too
        if m := _SOURCE.search(chunk):
            current = m[1]
        obj = yaml.load(chunk)
        if isinstance(obj, Mapping) and obj:
            if obj.get("kind", "").endswith("List") and isinstance(obj.get("items"), list):
                found += [Manifest(item, current) for item in obj["items"] if isinstance(item, Mapping)]
            else:
                found.append(Manifest(obj, current))
    return found


# --- discovery ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Served:
    group_version: str  # "v1", "apps/v1"
    plural: str
    namespaced: bool

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = f"/api/{self.group_version}" if "/" not in self.group_version else f"/apis/{self.group_version}"
        if self.namespaced:
            base += f"/namespaces/{namespace}"
        return f"{base}/{self.plural}" + (f"/{name}" if name else "")


def resource_map(resource_lists: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Served]:
    """(apiVersion, kind) -> resource, from APIResourceList documents (``/api/v1``, ``/apis/G/V``), as a
    RESTMapper builds it; subresources (``pods/log``) are not kinds of their own."""
    mapping: dict[tuple[str, str], Served] = {}
    for doc in resource_lists:
        group_version = str(doc.get("groupVersion") or "")
        for entry in doc.get("resources") or []:
            if "/" in entry["name"]:
                continue
            mapping.setdefault(
                (group_version, entry["kind"]), Served(group_version, entry["name"], entry["namespaced"])
            )
    return mapping


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What ``helm install`` learns from the cluster and hands to the templates."""

    kube_version: str
    api_versions: tuple[str, ...]  # "apps/v1" and "apps/v1/Deployment", as .Capabilities.APIVersions has them


# --- the replay -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    """One install step: a Helm release or a plain ``kubectl apply -n``."""

    name: str  # the component (the Helm release name)
    namespace: str | None = None
    objects: tuple[Manifest, ...] = ()
    render: Callable[[Capabilities], Sequence[Manifest]] | None = None  # objects from the live capabilities
    helm_release: bool = False
    create_namespace: bool = False  # helm install --create-namespace


@dataclasses.dataclass(frozen=True)
class ReplayFailure:
    step: int  # 1-based position in the plan
    step_name: str
    object: str  # 'Issuer "selfsigned" in namespace "x"'
    status: int | None  # the API's HTTP status; None when the client refused before sending (no mapping)
    answer: str  # the API's message (or the tool's, for a mapping failure)

    def __str__(self) -> str:
        code = f"{self.status}: " if self.status is not None else ""
        return f"step {self.step} ({self.step_name}): {self.object}: {code}{self.answer}"


@dataclasses.dataclass
class ReplayReport:
    applied: list[tuple[int, str]] = dataclasses.field(default_factory=list)  # (step, object description)
    failure: ReplayFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


class _StepFailed(Exception):
    def __init__(self, manifest: Manifest | str, status: int | None, answer: str) -> None:
        super().__init__(answer)
        self.what = manifest.describe() if isinstance(manifest, Manifest) else manifest
        self.status, self.answer = status, answer


def _api_message(exc: ApiException) -> str:
    body: Any = exc.body
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        return str(json.loads(text).get("message") or text)
    except (ValueError, AttributeError):
        return text.strip() or str(exc.reason)


class Replayer:
    """Applies steps through a kubernetes_asyncio ``ApiClient`` (raw calls, paths from discovery)."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self._mapping: dict[tuple[str, str], Served] = {}
        self._groups: list[str] = []
        self._kube_version = ""

    async def _call(self, path: str, method: str, body: Any = None, **headers: str) -> Any:
        query = [("fieldManager", headers.pop("manager"))] if "manager" in headers else []
        response_types = {200: "object", 201: "object"}
        return await self.api.call_api(
            path,
            method,
            query_params=query,
            header_params={"Accept": "application/json", **headers},
            body=body,
            response_types_map=response_types,
            _return_http_data_only=True,
        )

    async def discover(self) -> None:
        """Refresh the kind -> resource mapping, as helm and kubectl do after installing CRDs."""
        core = await self._call("/api/v1", "GET")
        groups = await self._call("/apis", "GET")
        lists = [core]
        self._groups = ["v1"]
        for group in groups["groups"]:
            for version in group["versions"]:
                lists.append(await self._call(f"/apis/{version['groupVersion']}", "GET"))
                self._groups.append(version["groupVersion"])
        self._mapping = resource_map(lists)
        self._kube_version = (await self._call("/version", "GET"))["gitVersion"]

    def capabilities(self) -> Capabilities:
        versions = set(self._groups) | {f"{gv}/{kind}" for gv, kind in self._mapping}
        return Capabilities(self._kube_version, tuple(sorted(versions)))

    async def _map(self, manifest: Manifest) -> Served:
        served = self._mapping.get((manifest.api_version, manifest.kind))
        if served is not None:
            return served
        # The RESTMapper asks discovery for the group/version; report what the API answered there.
        gv = manifest.api_version
        status: int | None = None
        try:
            await self._call(f"/apis/{gv}" if "/" in gv else f"/api/{gv}", "GET")
            answer = "the group/version is served, but not this kind"
        except ApiException as exc:
            status, answer = exc.status, _api_message(exc)
        ns = manifest.namespace or ""
        raise _StepFailed(
            manifest,
            status,
            f'resource mapping not found for name: "{manifest.name}" namespace: "{ns}" from "": no matches for '
            f'kind "{manifest.kind}" in version "{gv}" (discovery GET {gv}: {answer}); ensure CRDs are installed first',
        )

    async def _get(self, path: str) -> JSON | None:
        try:
            found: JSON = await self._call(path, "GET")
            return found
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    async def _apply(self, manifest: Manifest, served: Served, namespace: str | None, manager: str) -> str:
        """Server-side apply into ``namespace`` unless the object names its own; returns what was applied."""
        ns = (manifest.namespace or namespace) if served.namespaced else None
        obj = json.loads(json.dumps(manifest.obj))
        if ns:
            obj.setdefault("metadata", {})["namespace"] = ns
        try:
            await self._call(
                served.path(ns, manifest.name),
                "PATCH",
                obj,
                manager=manager,
                **{"Content-Type": "application/apply-patch+yaml"},
            )
        except ApiException as exc:
            raise _StepFailed(dataclasses.replace(manifest, obj=obj), exc.status, _api_message(exc)) from None
        return dataclasses.replace(manifest, obj=obj).describe()

    async def _ensure_namespace(self, name: str, manager: str) -> None:
        namespace = Manifest({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        if await self._get(f"/api/v1/namespaces/{name}") is None:
            await self._apply(namespace, await self._map(namespace), None, manager)

    async def _helm_release(self, step: Step, report: ReplayReport, index: int) -> None:
        namespace = step.namespace or "default"
        if step.create_namespace:
            await self._ensure_namespace(namespace, "helm")
        # The release record comes first: without its namespace, helm install stops here.
        record = Manifest(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "helm.sh/release.v1",
                "metadata": {
                    "name": f"sh.helm.release.v1.{step.name}.v1",
                    "namespace": namespace,
                    "labels": {"name": step.name, "owner": "helm", "status": "pending-install", "version": "1"},
                },
            },
            "helm release record",
        )
        await self._apply(record, await self._map(record), namespace, "helm")
        manifests = self._objects(step)
        crds = [m for m in manifests if m.from_crds_dir]
        if crds:
            for crd in crds:
                served = await self._map(crd)
                if await self._get(served.path(None, crd.name)) is None:
                    report.applied.append((index, await self._apply(crd, served, None, "helm")))
            await self.discover()
            if step.render is not None:  # the templates see the CRDs just installed
                manifests = list(step.render(self.capabilities()))
        rest = [m for m in manifests if not m.from_crds_dir and "test" not in m.hooks]
        mapped = [(m, await self._map(m)) for m in rest]  # all or nothing, before the first write
        owned = {"meta.helm.sh/release-name": step.name, "meta.helm.sh/release-namespace": namespace}
        for manifest, served in mapped:
            if manifest.hooks:
                continue
            ns = (manifest.namespace or namespace) if served.namespaced else None
            existing = await self._get(served.path(ns, manifest.name))
            annotations = ((existing or {}).get("metadata") or {}).get("annotations") or {}
            if existing is not None and any(annotations.get(k) != v for k, v in owned.items()):
                raise _StepFailed(
                    manifest,
                    None,
                    "rendered manifests contain a resource that already exists. Unable to continue with install: "
                    f'{manifest.kind} "{manifest.name}" exists and cannot be imported into the current release: '
                    "invalid ownership metadata",
                )
        phases = (
            sort_hooks(m for m in rest if "pre-install" in m.hooks),
            sort_for_install(m for m in rest if not m.hooks),
            sort_hooks(m for m in rest if "post-install" in m.hooks),
        )
        served_by = {id(m): s for m, s in mapped}
        for phase in phases:
            for manifest in phase:
                obj = dict(manifest.obj)
                if not manifest.hooks:  # helm labels what it owns; hooks are not part of the release's objects
                    meta = dict(manifest.metadata)
                    meta["annotations"] = {**(meta.get("annotations") or {}), **owned}
                    meta["labels"] = {**(meta.get("labels") or {}), "app.kubernetes.io/managed-by": "Helm"}
                    obj["metadata"] = meta
                applied = await self._apply(
                    dataclasses.replace(manifest, obj=obj), served_by[id(manifest)], namespace, "helm"
                )
                report.applied.append((index, applied))

    def _objects(self, step: Step) -> list[Manifest]:
        return list(step.render(self.capabilities())) if step.render is not None else list(step.objects)

    async def _plain(self, step: Step, report: ReplayReport, index: int) -> None:
        if step.create_namespace and step.namespace:
            await self._ensure_namespace(step.namespace, "kubectl")
        for manifest in self._objects(step):
            applied = await self._apply(manifest, await self._map(manifest), step.namespace or "default", "kubectl")
            report.applied.append((index, applied))
            if manifest.kind == "CustomResourceDefinition":
                await self.discover()  # kubectl apply -f of several files re-maps per file; close enough

    async def replay(self, steps: Sequence[Step]) -> ReplayReport:
        report = ReplayReport()
        await self.discover()
        for index, step in enumerate(steps, start=1):
            try:
                if step.helm_release:
                    await self._helm_release(step, report, index)
                else:
                    await self._plain(step, report, index)
                await self.discover()
            except _StepFailed as failed:
                report.failure = ReplayFailure(index, step.name, failed.what, failed.status, failed.answer)
                return report
        return report


async def replay(api: Any, steps: Sequence[Step]) -> ReplayReport:
    """Apply ``steps`` in order through ``api`` (a kubernetes_asyncio ApiClient); stop at the first failure."""
    return await Replayer(api).replay(steps)
