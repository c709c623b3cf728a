"""The install replay harness: its pure parts, and replays of hand-written steps against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.kube.emulator import KubeFixture, serve_kube
from tests.kube.replay import (
    INSTALL_ORDER,
    Capabilities,
    Manifest,
    Served,
    Step,
    install_order_key,
    parse_manifests,
    replay,
    resource_map,
    sort_for_install,
    sort_hooks,
)

# --- pure parts -----------------------------------------------------------------------------------


def m(kind: str, name: str = "x", api_version: str = "v1", source: str = "", **meta: Any) -> Manifest:
    return Manifest({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, **meta}}, source)


def test_helm_install_order_with_unknown_kinds_last_alphabetically() -> None:
    rendered = [
        m("Deployment", "d"),
        m("Issuer", "i", "cert-manager.io/v1"),
        m("ValidatingWebhookConfiguration"),
        m("Certificate", "c", "cert-manager.io/v1"),
        m("ServiceAccount", "sa1"),
        m("CustomResourceDefinition", api_version="apiextensions.k8s.io/v1"),
        m("Namespace"),
        m("ServiceAccount", "sa2"),
        m("Secret"),
    ]
    kinds = [(x.kind, x.name) for x in sort_for_install(rendered)]
    assert kinds == [
        ("Namespace", "x"),
        ("ServiceAccount", "sa1"),  # equal kinds keep their rendered order
        ("ServiceAccount", "sa2"),
        ("Secret", "x"),
        ("CustomResourceDefinition", "x"),
        ("Deployment", "d"),
        ("ValidatingWebhookConfiguration", "x"),
        ("Certificate", "c"),
        ("Issuer", "i"),
    ]
    assert INSTALL_ORDER[:2] == ("PriorityClass", "Namespace") and INSTALL_ORDER[-1] == "ValidatingWebhookConfiguration"
    assert install_order_key("Namespace") < install_order_key("ConfigMap") < install_order_key("Zebra")
    assert install_order_key("ValidatingWebhookConfiguration") < install_order_key("Alpha")


def test_hooks_by_weight_then_kind() -> None:
    def hook(kind: str, weight: str) -> Manifest:
        annotations = {"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": weight}
        return m(kind, f"{kind}{weight}", annotations=annotations)

    ordered = sort_hooks([hook("Job", "1"), hook("ServiceAccount", "1"), hook("Job", "-5"), hook("Role", "x")])
    # an unreadable weight counts as 0, as strconv.Atoi leaves it in Helm
    assert [x.name for x in ordered] == ["Job-5", "Rolex", "ServiceAccount1", "Job1"]
    assert ordered[0].hooks == {"pre-install", "pre-upgrade"}


def test_parse_helm_template_output_keeps_sources_and_flattens_lists() -> None:
    text = (
        "---\n# Source: gpu-operator/charts/node-feature-discovery/crds/nfd-api-crds.yaml\n"
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b.c}\n"
        "---\n# Source: kps/charts/crds/crds/crd-a.yaml\n# https://example/a.yaml\n---\n"
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: g.h.i}\n"
        "---\n# Source: gpu-operator/templates/crds.yaml\n"
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: d.e.f}\n"
        "---\n# Source: gpu-operator/templates/empty.yaml\n"
        "--- # a comment\n"
        "apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}\n"
    )
    parsed = parse_manifests(text, "fallback.yaml")
    assert parse_manifests("kind: ConfigMap\nmetadata: {name: x, labels: {a: =}}\n", "f.yaml")[0].source == "f.yaml"
    assert [(x.name, x.from_crds_dir, x.source) for x in parsed] == [
        ("a.b.c", True, "gpu-operator/charts/node-feature-discovery/crds/nfd-api-crds.yaml"),
        ("g.h.i", True, "kps/charts/crds/crds/crd-a.yaml"),  # a file's later documents share its Source
        ("d.e.f", False, "gpu-operator/templates/crds.yaml"),  # CRDs in templates are ordinary objects
        ("one", False, "gpu-operator/templates/empty.yaml"),
    ]


def test_resource_map_from_discovery_and_paths() -> None:
    core = {
        "groupVersion": "v1",
        "resources": [
            {"name": "pods", "kind": "Pod", "namespaced": True},
            {"name": "pods/log", "kind": "Pod", "namespaced": True},
            {"name": "namespaces", "kind": "Namespace", "namespaced": False},
        ],
    }
    apps = {"groupVersion": "apps/v1", "resources": [{"name": "deployments", "kind": "Deployment", "namespaced": True}]}
    mapping = resource_map([core, apps])
    assert mapping == {
        ("v1", "Pod"): Served("v1", "pods", True),
        ("v1", "Namespace"): Served("v1", "namespaces", False),
        ("apps/v1", "Deployment"): Served("apps/v1", "deployments", True),
    }
    assert mapping["v1", "Pod"].path("ns", "p") == "/api/v1/namespaces/ns/pods/p"
    assert mapping["v1", "Namespace"].path(None, "ns") == "/api/v1/namespaces/ns"
    assert mapping["apps/v1", "Deployment"].path("x") == "/apis/apps/v1/namespaces/x/deployments"


# --- against the emulator -------------------------------------------------------------------------

GROUP = "cert-manager.io"
SCHEMA = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}


def crd(kind: str, plural: str, source: str = "chart/templates/crds.yaml") -> Manifest:
    spec = {
        "group": GROUP,
        "names": {"kind": kind, "plural": plural},
        "scope": "Namespaced",
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": SCHEMA}],
    }
    obj = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}
    return Manifest(obj | {"metadata": {"name": f"{plural}.{GROUP}"}, "spec": spec}, source)


def issuer(namespace: str | None = None) -> Manifest:
    meta = {"name": "selfsigned"} | ({"namespace": namespace} if namespace else {})
    return Manifest({"apiVersion": f"{GROUP}/v1", "kind": "Issuer", "metadata": meta, "spec": {"selfSigned": {}}})


def deployment(name: str) -> Manifest:
    return Manifest({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": {}})


@pytest.fixture
async def bare(tmp_path: Path) -> AsyncIterator[tuple[KubeFixture, Any]]:
    async with serve_kube(tmp_path, preinstalled_crds=()) as cluster, cluster.api_client() as api:
        yield cluster, api


async def test_crd_release_then_custom_resource_succeeds(bare: tuple[KubeFixture, Any]) -> None:
    cluster, api = bare
    steps = [
        Step(
            "cert-manager",
            "cert-manager",
            (crd("Issuer", "issuers"), deployment("cm")),
            helm_release=True,
            create_namespace=True,
        ),
        Step("issuers", "cert-manager", (issuer(),)),
    ]
    report = await replay(api, steps)
    assert report.ok, report.failure
    assert (2, 'Issuer "selfsigned" in namespace "cert-manager"') in report.applied
    stored = cluster.get("deployments", "cert-manager", "cm")
    assert stored is not None and stored["metadata"]["annotations"]["meta.helm.sh/release-name"] == "cert-manager"
    assert cluster.get("secrets", "cert-manager", "sh.helm.release.v1.cert-manager.v1") is not None


async def test_custom_resource_before_its_crd_fails_with_the_404(bare: tuple[KubeFixture, Any]) -> None:
    _, api = bare
    steps = [
        Step("issuers", "cert-manager", (issuer(),), create_namespace=True),
        Step("cert-manager", "cert-manager", (crd("Issuer", "issuers"),), helm_release=True),
    ]
    report = await replay(api, steps)
    failure = report.failure
    assert failure is not None and (failure.step, failure.step_name) == (1, "issuers")
    assert failure.object == 'Issuer "selfsigned"' and failure.status == 404
    assert 'no matches for kind "Issuer" in version "cert-manager.io/v1"' in failure.answer
    assert "404 page not found" in failure.answer
    assert str(failure).startswith('step 1 (issuers): Issuer "selfsigned": 404: resource mapping not found')


async def test_crd_and_its_resource_in_one_release_fail_before_any_object_is_written(
    bare: tuple[KubeFixture, Any],
) -> None:
    # Helm maps every template before creating any: the umbrella chart's problem, not fixed by kind order.
    cluster, api = bare
    objects = (deployment("cm"), crd("Issuer", "issuers"), issuer())
    report = await replay(api, [Step("all", "cert-manager", objects, helm_release=True, create_namespace=True)])
    assert report.failure is not None and report.failure.object.startswith('Issuer "selfsigned"')
    assert report.applied == [] and cluster.objects("crds") == []
    # ...whereas a chart's crds/ directory is installed before its templates are mapped
    objects = (deployment("cm"), crd("Issuer", "issuers", "c/crds/x.yaml"), issuer())
    report = await replay(api, [Step("all", "cert-manager", objects, helm_release=True, create_namespace=True)])
    assert report.ok, report.failure


async def test_namespace_nothing_creates_fails(bare: tuple[KubeFixture, Any]) -> None:
    _, api = bare
    helm = await replay(api, [Step("dra", "nvidia-dra-driver", (deployment("d"),), helm_release=True)])
    assert helm.failure is not None and helm.failure.status == 404
    assert helm.failure.object == 'Secret "sh.helm.release.v1.dra.v1" in namespace "nvidia-dra-driver"'
    assert helm.failure.answer == 'namespaces "nvidia-dra-driver" not found'
    plain = await replay(api, [Step("cm", "default", (m("ConfigMap", "c", namespace="monitoring"),))])
    assert plain.failure is not None
    assert (plain.failure.object, plain.failure.status) == ('ConfigMap "c" in namespace "monitoring"', 404)
    assert plain.failure.answer == 'namespaces "monitoring" not found'


async def test_object_owned_by_another_release_fails(bare: tuple[KubeFixture, Any]) -> None:
    _, api = bare
    shared = m("ClusterRole", "shared-role", "rbac.authorization.k8s.io/v1")
    steps = [
        Step("a", "ns-a", (shared,), helm_release=True, create_namespace=True),
        Step("b", "ns-b", (shared,), helm_release=True, create_namespace=True),
    ]
    report = await replay(api, steps)
    assert report.failure is not None and report.failure.step == 2
    assert "cannot be imported into the current release" in report.failure.answer


async def test_rendering_sees_the_clusters_capabilities(bare: tuple[KubeFixture, Any]) -> None:
    _, api = bare
    seen: list[Capabilities] = []

    def render(caps: Capabilities) -> list[Manifest]:
        seen.append(caps)
        return [crd("Issuer", "issuers", "c/crds/issuers.yaml")]

    report = await replay(api, [Step("cm", "cert-manager", render=render, helm_release=True, create_namespace=True)])
    assert report.ok, report.failure
    assert seen[0].kube_version.startswith("v1.34") and "apps/v1/Deployment" in seen[0].api_versions
    assert f"{GROUP}/v1" not in seen[0].api_versions
    assert {f"{GROUP}/v1", f"{GROUP}/v1/Issuer"} <= set(seen[1].api_versions)  # re-rendered after crds/
