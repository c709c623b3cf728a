"""The Argo CD layout rendered from the install plan (issue 10, Build items 3 and 4).

Pure rendering: every Application, manifest and README line is checked against the plan it
came from, and every Argo CD object against the Application CRD's structure (field names and
types as ``manifests/crds/application-crd.yaml`` of argoproj/argo-cd defines them, written out
by hand below for the fields a bundle can use).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from eidos_cli.bundle import argocd
from eidos_cli.bundle.checksums import parse_checksums
from eidos_cli.bundle.overrides import parse_set
from eidos_cli.bundle.plan import BundleOptions, Chart, InstallPlan, Kustomize, Step, build_plan
from eidos_core import yaml
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.recipe.model import Recipe, RecipeStore, Registry
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.sources.embedded import embedded_store

REPO = "https://git.example/gitops.git"
GB200 = Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu")
GKE = Criteria(service="gke", accelerator="h100", intent="inference", os="cos")


def recipe_for(store: RecipeStore, criteria: Criteria = GB200) -> Recipe:
    return recipe_from_document(recipe_to_document(build_recipe(store, criteria), "v1.0.0"))


def bundle(
    criteria: Criteria = GB200, store: RecipeStore | None = None, **options: Any
) -> tuple[InstallPlan, dict[str, bytes]]:
    store = store or embedded_store()
    recipe = recipe_for(store, criteria)
    plan = build_plan(recipe, store, BundleOptions(deployer="argocd", repo=REPO, **options))
    return plan, argocd.render_plan(recipe, plan, "v9.9.9", REPO)


def load_docs(data: bytes) -> list[Any]:
    return [d for d in (yaml.load(part) for part in data.decode().split("\n---\n")) if d is not None]


def apps(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    out = {}
    for path, data in files.items():
        if path.endswith("/application.yaml"):
            app = yaml.load(data)
            out[app["metadata"]["name"]] = app
    return out


# -- the Application CRD's structure (argoproj/argo-cd manifests/crds/application-crd.yaml) -------

STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
STR_LIST = {"type": "array", "items": STR}
STR_MAP = {"type": "object", "additionalProperties": STR}
OPEN = {"type": "object", "open": True}  # x-kubernetes-preserve-unknown-fields / free-form
SOURCE = {
    "type": "object",
    "required": ["repoURL"],
    "properties": {
        "repoURL": STR,
        "path": STR,
        "targetRevision": STR,
        "chart": STR,
        "ref": STR,
        "name": STR,
        "tagPrefix": STR,
        "helm": {
            "type": "object",
            "properties": {
                "valueFiles": STR_LIST,
                "values": STR,
                "valuesObject": OPEN,
                "releaseName": STR,
                "ignoreMissingValueFiles": BOOL,
                "skipCrds": BOOL,
                "skipTests": BOOL,
                "skipSchemaValidation": BOOL,
                "passCredentials": BOOL,
                "namespace": STR,
                "kubeVersion": STR,
                "version": STR,
                "apiVersions": STR_LIST,
                "parameters": {"type": "array", "items": OPEN},
                "fileParameters": {"type": "array", "items": OPEN},
            },
        },
        "directory": {
            "type": "object",
            "properties": {"recurse": BOOL, "include": STR, "exclude": STR, "jsonnet": OPEN},
        },
        "kustomize": OPEN,
        "plugin": OPEN,
    },
}
APPLICATION = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": STR,
        "kind": STR,
        "metadata": {
            "type": "object",
            "properties": {
                "name": STR,
                "namespace": STR,
                "annotations": STR_MAP,
                "labels": STR_MAP,
                "finalizers": STR_LIST,
            },
        },
        "spec": {
            "type": "object",
            "required": ["destination", "project"],
            "properties": {
                "project": STR,
                "source": SOURCE,
                "sources": {"type": "array", "items": SOURCE},
                "destination": {"type": "object", "properties": {"server": STR, "name": STR, "namespace": STR}},
                "syncPolicy": {
                    "type": "object",
                    "properties": {
                        "automated": {
                            "type": "object",
                            "properties": {"prune": BOOL, "selfHeal": BOOL, "allowEmpty": BOOL, "enabled": BOOL},
                        },
                        "syncOptions": STR_LIST,
                        "retry": {
                            "type": "object",
                            "properties": {
                                "limit": INT,
                                "refresh": BOOL,
                                "backoff": {
                                    "type": "object",
                                    "properties": {"duration": STR, "factor": INT, "maxDuration": STR},
                                },
                            },
                        },
                        "managedNamespaceMetadata": OPEN,
                    },
                },
                "ignoreDifferences": {"type": "array", "items": OPEN},
                "revisionHistoryLimit": INT,
                "info": {"type": "array", "items": OPEN},
            },
        },
    },
}
_TYPES: dict[str, Any] = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}


def schema_problems(value: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """Field names and types against ``schema``: unknown fields, wrong types, missing required."""
    kind = _TYPES[schema["type"]]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        return [f"{where or '.'}: {type(value).__name__}, the CRD says {schema['type']}"]
    problems: list[str] = []
    if isinstance(value, dict) and not schema.get("open"):
        problems += [f"{where}.{k}: required" for k in schema.get("required", ()) if k not in value]
        for key, item in value.items():
            if "properties" in schema:
                if key not in schema["properties"]:
                    problems.append(f"{where}.{key}: not a field of the CRD")
                    continue
                problems += schema_problems(item, schema["properties"][key], f"{where}.{key}")
            elif "additionalProperties" in schema:
                problems += schema_problems(item, schema["additionalProperties"], f"{where}.{key}")
    if isinstance(value, list):
        for i, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{where}[{i}]")
    return problems


def test_the_structural_check_catches_what_the_crd_refuses() -> None:
    good = apps(bundle()[1])["gpu-operator"]
    assert schema_problems(good, APPLICATION) == []
    bad = {**good, "spec": {**good["spec"], "syncPolicy": {"retry": {"limit": "5"}}, "sources": [{"chart": "x"}]}}
    assert sorted(schema_problems(bad, APPLICATION)) == [
        ".spec.sources[0].repoURL: required",
        ".spec.syncPolicy.retry.limit: str, the CRD says integer",
    ]
    assert schema_problems({**good, "spec": {**good["spec"], "source": {"repoURL": "x", "values": 1}}}, APPLICATION)


# -- every Argo CD object, every embedded criteria combination --------------------------------------


COMBINATIONS = list(itertools.product(SERVICES, ACCELERATORS, INTENTS, OS_TYPES))


@pytest.mark.parametrize("service", SERVICES)
def test_every_object_fits_the_application_crd(service: str) -> None:
    store = embedded_store()
    for _, accelerator, intent, os in [c for c in COMBINATIONS if c[0] == service]:
        criteria = Criteria(service=service, accelerator=accelerator, intent=intent, os=os)
        plan, files = bundle(criteria, store)
        objects = [*apps(files).values(), yaml.load(files["app-of-apps.yaml"])]
        assert len(objects) == len(plan.steps) + 1
        for obj in objects:
            assert obj["apiVersion"] == "argoproj.io/v1alpha1" and obj["kind"] == "Application"
            assert schema_problems(obj, APPLICATION) == [], (criteria, obj["metadata"]["name"])
            # ``sources`` and ``source`` together: Argo CD silently ignores ``source``.
            assert ("source" in obj["spec"]) != ("sources" in obj["spec"])
        assert set(parse_checksums(files["checksums.txt"])) == set(files) - {"checksums.txt"}


# -- extra manifests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("criteria", [GB200, GKE])
def test_extra_manifests_ship_rendered_with_their_component(criteria: Criteria) -> None:
    plan, files = bundle(criteria)
    applications = apps(files)
    with_manifests = [s for s in plan.steps if s.manifests]
    assert with_manifests, "the chosen recipes have extra manifests"
    for step in plan.steps:
        sources = applications[step.component]["spec"]["sources"]
        directories = [s for s in sources if "path" in s and s["repoURL"] == REPO]
        if not step.manifests:
            assert directories == []
            continue
        # The component's own Application syncs them: the same wave by construction.
        assert directories == [{"repoURL": REPO, "targetRevision": "main", "path": f"{step.component}/manifests"}]
        for path in step.manifests:
            assert path.startswith(f"{step.component}/manifests/")
            text = files[path].decode()
            assert "{{" not in text and "}}" not in text
            for obj in load_docs(files[path]):
                assert obj["metadata"]["annotations"][argocd.WAVE_ANNOTATION] in ("-1", "1")
                if obj["kind"] in ("ConfigMap", "ResourceQuota"):
                    assert obj["metadata"]["namespace"] == step.namespace


def test_the_manifests_the_gpu_operator_values_point_at_are_in_the_bundle() -> None:
    plan, files = bundle(GB200)
    values = yaml.load(files["gpu-operator/values.yaml"])
    shipped = {
        obj["metadata"]["name"]
        for path in plan.step("gpu-operator").manifests  # type: ignore[union-attr]
        for obj in load_docs(files[path])
        if obj["kind"] == "ConfigMap"
    }
    assert values["driver"]["kernelModuleConfig"]["name"] in shipped
    assert values["dcgmExporter"]["config"]["name"] in shipped
    skyhook = load_docs(files["skyhook-operator/manifests/ubuntu-tuning.yaml"])
    assert [o["kind"] for o in skyhook] == ["Skyhook"]


def test_resource_waves_built_in_first_custom_resources_last() -> None:
    data = (
        b"# a comment that stays\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n---\n"
        b"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: c}\n---\n"
        b"apiVersion: skyhook.nvidia.com/v1alpha1\nkind: Skyhook\nmetadata: {name: d}\n---\n"
        b"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\n"
        b"metadata: {name: e, annotations: {argocd.argoproj.io/sync-wave: '7'}}\n"
    )
    out = argocd.with_resource_waves("x/manifests/m.yaml", data)
    assert out.startswith(b"# a comment that stays\n")
    waves = {o["metadata"]["name"]: o["metadata"]["annotations"][argocd.WAVE_ANNOTATION] for o in load_docs(out)}
    assert waves == {"a": "-1", "b": "-1", "c": "-1", "d": "1", "e": "7"}
    with pytest.raises(InvalidRequestError, match="not a Kubernetes object"):
        argocd.with_resource_waves("x/manifests/m.yaml", b"- a\n- b\n")


def test_a_manifest_outside_the_components_directory_is_refused() -> None:
    step = Step(
        component="a",
        namespace="a",
        chart=Chart("https://charts.example", "a", "1.0.0"),
        kustomize=None,
        values={},
        manifests={"b/manifests/m.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n"},
        depends_on=(),
    )
    with pytest.raises(InvalidRequestError, match="not in a/manifests/"):
        argocd.application(step, 0, REPO)
    # Argo CD's include glob matches across '/': a manifest named application.yaml would be
    # taken by the app-of-apps for a child Application.
    shadow = replace(step, manifests={"a/manifests/application.yaml": b"kind: ConfigMap\n"})
    with pytest.raises(InvalidRequestError, match="cannot be named application.yaml"):
        argocd.application(shadow, 0, REPO)


# -- chart sources -----------------------------------------------------------------------------------


def test_helm_oci_charts_in_the_form_argo_cd_expects() -> None:
    plan, files = bundle(GB200)
    applications = apps(files)
    for step in plan.steps:
        assert step.chart is not None
        chart_source = applications[step.component]["spec"]["sources"][0]
        assert not chart_source["repoURL"].startswith("oci://")
        assert chart_source["chart"] == step.chart.name
        assert chart_source["targetRevision"] == step.chart.version
        assert chart_source["helm"] == {
            "releaseName": step.component,
            "valueFiles": [f"$values/{step.component}/values.yaml"],
        }
    assert plan.step("nvsentinel").chart.repository == "oci://ghcr.io/nvidia"  # type: ignore[union-attr]
    assert applications["nvsentinel"]["spec"]["sources"][0]["repoURL"] == "ghcr.io/nvidia"
    assert applications["cert-manager"]["spec"]["sources"][0]["repoURL"] == "https://charts.jetstack.io"
    assert applications["prometheus"]["spec"]["sources"][0]["chart"] == "kube-prometheus-stack"
    assert argocd.oci_or_http_repo("oci://registry.example/charts/") == "registry.example/charts"


def test_values_come_from_the_gitops_repository_through_a_ref() -> None:
    plan, files = bundle(GB200)
    for step in plan.steps:
        sources = apps(files)[step.component]["spec"]["sources"]
        assert {"repoURL": REPO, "targetRevision": "main", "ref": "values"} in sources
        assert step.values_file in files
        assert yaml.load(files[step.values_file]) == (dict(step.values) or {})


def test_kustomize_steps_are_git_sources_without_values() -> None:
    step = Step(
        component="tuning",
        namespace="tuning",
        chart=None,
        kustomize=Kustomize(source="https://git.example/t.git", path="deploy", tag="v2"),
        values={},
        manifests={},
        depends_on=(),
    )
    app = argocd.application(step, 3, REPO)
    assert app["spec"]["sources"] == [
        {"repoURL": "https://git.example/t.git", "path": "deploy", "targetRevision": "v2"}
    ]
    assert schema_problems(app, APPLICATION) == []


# -- waves, sync policy, health ------------------------------------------------------------------------


def test_waves_are_the_plan_order_and_the_sync_policy_waits_and_retries() -> None:
    plan, files = bundle(GB200)
    applications = apps(files)
    assert list(applications) == [s.component for s in plan.steps]  # files written in plan order
    for wave, step in enumerate(plan.steps):
        app = applications[step.component]
        assert app["metadata"]["annotations"] == {argocd.WAVE_ANNOTATION: str(wave)}
        assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
        assert app["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": step.namespace}
        policy = app["spec"]["syncPolicy"]
        assert policy["syncOptions"] == ["CreateNamespace=true", "ServerSideApply=true"]
        assert policy["retry"]["limit"] > 0 and policy["retry"]["backoff"]["factor"] == 2
        assert policy["automated"] == {"prune": True, "selfHeal": True}
    order = [s.component for s in plan.steps]
    assert order.index("cert-manager") < order.index("gpu-operator") < order.index("skyhook-operator")


def test_health_customisation_is_shipped_explained_and_in_the_steps() -> None:
    _, files = bundle(GB200)
    text = files[argocd.HEALTH_FILE].decode()
    assert "kubectl patch configmap argocd-cm" in text  # the file says how to apply it
    (cm,) = load_docs(files[argocd.HEALTH_FILE])
    assert (cm["kind"], cm["metadata"]["name"], cm["metadata"]["namespace"]) == ("ConfigMap", "argocd-cm", "argocd")
    lua = cm["data"]["resource.customizations.health.argoproj.io_Application"]
    assert "obj.status.health.status" in lua and 'hs.status = "Progressing"' in lua
    readme = files["README.md"].decode()
    assert f"--patch-file {argocd.HEALTH_FILE}" in readme
    assert readme.index(argocd.HEALTH_FILE) < readme.index("kubectl apply -f app-of-apps.yaml")
    steps = argocd.summary_steps("./out")
    assert any(argocd.HEALTH_FILE in s for s in steps)
    assert steps[-1] == "kubectl apply -f ./out/app-of-apps.yaml"


# -- namespaces, disabling, README, determinism ----------------------------------------------------------


def test_namespaces_come_from_the_one_plan() -> None:
    store = embedded_store()
    registry = store.registry
    moved = {**registry.components, "gpu-operator": replace(registry.components["gpu-operator"], namespace="gpu-x")}
    store = replace(store, registry=Registry(components=moved))
    plan, files = bundle(GB200, store)
    assert plan.step("gpu-operator").namespace == "gpu-x"  # type: ignore[union-attr]
    applications = apps(files)
    for step in plan.steps:
        assert applications[step.component]["spec"]["destination"]["namespace"] == step.namespace
    for path in plan.step("gpu-operator").manifests:  # type: ignore[union-attr]
        assert all(o["metadata"]["namespace"] == "gpu-x" for o in load_docs(files[path]))
    readme = files["README.md"].decode()
    assert "| gpu-operator | gpu-x |" in readme and "kubectl get pods -n gpu-x" in readme
    assert all(b"nvidia-system" not in data for data in files.values())


@pytest.mark.parametrize(
    ("disabled", "gone"),
    [
        ("skyhook-operator", ["skyhook-operator/", "kind: Skyhook", "ubuntu-gpu-tuning"]),
        ("gpu-operator", ["gpu-operator/", "kernel-module-params", "dcgm-metrics", "name: gpu-operator"]),
    ],
)
def test_a_component_disabled_at_bundle_time_is_absent_everywhere(disabled: str, gone: list[str]) -> None:
    plan, files = bundle(GB200, overrides=parse_set([f"{disabled}:enabled=false"]))
    assert disabled in plan.disabled and plan.step(disabled) is None
    assert not [p for p in files if p.startswith(f"{disabled}/")]
    for path, data in files.items():
        if path in ("README.md", "checksums.txt"):
            continue
        for text in gone:
            assert text.encode() not in data, (path, text)
    assert disabled not in apps(files)
    readme = files["README.md"].decode()
    assert f"| {disabled} |" not in readme and f": {disabled} (" not in readme
    assert f"`{disabled}`" in readme  # said to be disabled, once
    # Waves stay contiguous: the next component takes the freed position.
    waves = sorted(int(a["metadata"]["annotations"][argocd.WAVE_ANNOTATION]) for a in apps(files).values())
    assert waves == list(range(len(plan.steps)))


def test_a_step_marked_disabled_gets_no_application() -> None:
    plan, _ = bundle(GB200)
    steps = tuple(replace(s, enabled=s.component != "nvsentinel") for s in plan.steps)
    recipe = recipe_for(embedded_store())
    files = argocd.render_plan(recipe, replace(plan, steps=steps), "v1", REPO)
    assert "nvsentinel" not in apps(files) and "nvsentinel/application.yaml" not in files


def test_readme_lists_only_what_is_in_the_bundle() -> None:
    plan, files = bundle(GKE)
    readme = files["README.md"].decode()
    for wave, step in enumerate(plan.steps):
        assert f"| {wave} | {step.component} | {step.namespace} |" in readme
        assert f"- **Wave {wave}**: {step.component} (namespace `{step.namespace}`)" in readme
    rows = [line for line in readme.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(plan.steps)
    registry_names = set(embedded_store().registry.components)
    absent = registry_names - {s.component for s in plan.steps}
    assert absent, "the GKE recipe leaves some registry components out"
    for name in absent:
        assert f"{name}/" not in readme and f"| {name} |" not in readme
    for namespace in plan.namespaces:
        assert f"kubectl get pods -n {namespace}" in readme
    assert readme.count("kubectl get pods -n ") == len(set(plan.namespaces))


def test_rendering_is_deterministic_and_checksummed() -> None:
    _, first = bundle(GB200)
    _, second = bundle(GB200)
    assert first == second and list(first) == list(second)
    assert set(parse_checksums(first["checksums.txt"])) == set(first) - {"checksums.txt"}
    assert "install-plan.yaml" in first and "app-of-apps.yaml" in first


def test_without_repo_every_git_source_uses_the_placeholder() -> None:
    store = embedded_store()
    recipe = recipe_for(store)
    files = argocd.render_plan(recipe, build_plan(recipe, store, BundleOptions()), "v1", "")
    git_urls = {s["repoURL"] for a in apps(files).values() for s in a["spec"]["sources"] if "ref" in s or "path" in s}
    assert git_urls == {argocd.PLACEHOLDER_REPO}
    assert argocd.notes("") == ("Update app-of-apps.yaml with your repository URL before applying",)
