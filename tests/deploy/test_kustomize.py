"""k8s/: every kustomization and component combination renders with the real kubectl, every
object validates, and the rendered objects agree with the code they deploy (eidosd's routes and
settings, the agent's RBAC and Job, the ConfigMap watcher's API calls)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import re
import shutil
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from eidos_cli.agent.manifests import AgentOptions, job_object, rbac_objects
from eidos_core import __version__
from eidos_core.data.files import read_mapping
from eidos_core.data.load import load_store
from eidos_core.durations import parse_duration
from eidosd.app import create_app
from eidosd.settings import Settings, SettingsError, env_names, load_settings
from tests.deploy import support
from tests.deploy.support import (
    K8S,
    Obj,
    component_names,
    container,
    env_of,
    find,
    find_all,
    kustomization_dirs,
    kustomize_version,
    pod_spec,
    port_number,
    render,
    render_with_components,
    restricted_violations,
)
from tests.deploy.validation import CRD_SCHEMAS, validate_objects

COMPONENTS = ("ingress", "monitoring", "recipe-configmap-watch", "recipe-data", "vpa")
EXCLUSIVE = {"recipe-data", "recipe-configmap-watch"}  # two sources of recipe data: eidosd refuses both
NAMESPACE = "eidos"
AGENT_NAMESPACE = "gpu-operator"
AGENT_OUTPUT = f"cm://{AGENT_NAMESPACE}/eidos-snapshot"
IMAGE_REPO = "ghcr.io/nvidia/eidos"
# Settings the Deployment deliberately sets away from eidosd's defaults.
NOT_DEFAULT = {"shutdown_delay"}


def combinations() -> list[tuple[str, ...]]:
    names = component_names()
    return [combo for n in range(len(names) + 1) for combo in itertools.combinations(names, n)]


def base() -> list[Obj]:
    return render(K8S / "base")


def eidosd_deployment(objs: list[Obj]) -> Obj:
    return find(objs, "Deployment", "eidosd")


def eidosd_container(objs: list[Obj]) -> Obj:
    return container(eidosd_deployment(objs), "eidosd")


def routed(app: web.Application, method: str, path: str) -> str | None:
    """The route pattern eidosd's router sends ``method path`` to; None for its catch-all."""

    async def resolve() -> str | None:
        info = await app.router.resolve(make_mocked_request(method, path, app=app))
        resource = info.route.resource
        if resource is None or isinstance(resource, web.DynamicResource):  # /{tail:.*}: 404/405 envelope
            return None
        return resource.canonical

    return asyncio.run(resolve())


@pytest.fixture(scope="module")
def app() -> web.Application:
    return create_app(Settings())


# -- rendering and validation --------------------------------------------------------------------


def test_kubectl_with_kustomize_v5_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    assert kustomize_version().startswith("v5."), "Components and these manifests need Kustomize v5"
    # Without kubectl the tests fail (with a message saying what to install); they never skip.
    monkeypatch.setattr(shutil, "which", lambda *_: None)
    monkeypatch.setattr(os, "access", lambda *_: False)
    with pytest.raises(pytest.fail.Exception, match="kubectl is not installed"):
        support.kubectl()


def test_the_component_set_is_the_documented_one() -> None:
    assert tuple(component_names()) == COMPONENTS
    for name in COMPONENTS:
        text = (K8S / "components" / name / "kustomization.yaml").read_text()
        assert re.search(r"^kind: Component$", text, re.M), f"{name} is not a kustomize Component"


@pytest.mark.parametrize("directory", kustomization_dirs(), ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_renders_and_validates(directory: Path) -> None:
    objs = render(directory)
    assert objs, f"{directory} renders nothing"
    counts = validate_objects(objs)
    assert counts["built-in"] > 0


@pytest.mark.parametrize("combo", combinations(), ids=lambda c: "+".join(c) or "base-only")
def test_component_combination_renders_and_validates(combo: tuple[str, ...], tmp_path: Path) -> None:
    objs = render_with_components(tmp_path / "overlay", combo)
    validate_objects(objs)
    custom = {(o["apiVersion"], o["kind"]) for o in objs} & set(CRD_SCHEMAS)
    expected_custom = {
        ("monitoring.coreos.com/v1", "ServiceMonitor") if "monitoring" in combo else None,
        ("monitoring.coreos.com/v1", "PrometheusRule") if "monitoring" in combo else None,
        ("autoscaling.k8s.io/v1", "VerticalPodAutoscaler") if "vpa" in combo else None,
    } - {None}
    assert custom == expected_custom
    # The pod must still be admissible under the namespace's Pod Security profile.
    assert restricted_violations(pod_spec(eidosd_deployment(objs))) == []
    # And eidosd must accept the environment it is given: all settings valid, or the one
    # documented conflict (two recipe data sources) refused at start-up.
    env = env_of(eidosd_container(objs))
    if set(combo) >= EXCLUSIVE:
        with pytest.raises(SettingsError, match="both set"):
            load_settings(env)
    else:
        load_settings(env)


def test_everything_is_in_its_namespace() -> None:
    for directory in kustomization_dirs():
        for obj in render(directory):
            namespaced = obj["kind"] not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}
            expected = AGENT_NAMESPACE if "agent" in directory.parts else NAMESPACE
            assert obj["metadata"].get("namespace") == (expected if namespaced else None), (directory, obj["kind"])


# -- eidosd: namespace, security, probes, settings -------------------------------------------------


def test_namespace_enforces_restricted_pod_security() -> None:
    labels = find(base(), "Namespace", NAMESPACE)["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_deployment_security_context() -> None:
    deployment = eidosd_deployment(base())
    spec = pod_spec(deployment)
    assert spec["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }  # fmt: skip
    ctr = container(deployment, "eidosd")
    sc = ctr["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["privileged"] is False
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 65532
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False  # no API access unless a component needs it
    # The only writable place is an emptyDir at /tmp.
    mounts = {m["mountPath"]: m["name"] for m in ctr["volumeMounts"]}
    assert mounts == {"/tmp": "tmp"}
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}} in spec["volumes"]
    assert restricted_violations(spec) == []


def test_deployment_replicas_resources_and_rollout() -> None:
    deployment = eidosd_deployment(base())
    assert deployment["spec"]["replicas"] == 3
    ctr = container(deployment, "eidosd")
    assert ctr["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }
    assert ctr["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_probes_use_eidosd_routes_on_its_port(app: web.Application) -> None:
    ctr = eidosd_container(base())
    env = env_of(ctr)
    expected = {"livenessProbe": "/health", "readinessProbe": "/ready", "startupProbe": "/health"}
    for probe, path in expected.items():
        get = ctr[probe]["httpGet"]
        assert get["path"] == path
        # the router sends GET <path> to a route of its own (not the catch-all 404 handler)
        assert routed(app, "GET", get["path"]) == get["path"], f"{probe}: {path} is not an eidosd route"
        assert port_number(ctr, get["port"]) == int(env["PORT"]) == Settings().port


def test_prometheus_scrape_annotations_point_at_metrics(app: web.Application) -> None:
    deployment = eidosd_deployment(base())
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert routed(app, "GET", annotations["prometheus.io/path"]) == "/metrics"
    assert int(annotations["prometheus.io/port"]) == port_number(container(deployment, "eidosd"), "http")


def test_env_is_exactly_what_eidosd_reads_at_its_defaults() -> None:
    ctr = eidosd_container(base())
    env = env_of(ctr)
    assert sorted(env) == sorted(env_names()), "Deployment env and eidosd.settings.env_names() differ"
    settings = load_settings(env)
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        if f.name in NOT_DEFAULT:
            continue
        assert getattr(settings, f.name) == getattr(defaults, f.name), f"{f.metadata.get('env', f.name)}"
    assert 0 < settings.shutdown_delay <= 10, "SHUTDOWN_DELAY should be a few seconds"


def test_grace_period_outlasts_the_drain() -> None:
    deployment = eidosd_deployment(base())
    settings = load_settings(env_of(container(deployment, "eidosd")))
    grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
    assert grace > settings.shutdown_delay + settings.shutdown_timeout
    # The readiness probe notices draining well within the delay's window of grace.
    ready = container(deployment, "eidosd")["readinessProbe"]
    assert ready["periodSeconds"] * ready["failureThreshold"] <= grace


def test_images_are_the_release_images() -> None:
    images = {
        c["image"]
        for directory in kustomization_dirs()
        for obj in render(directory)
        if obj["kind"] in ("Deployment", "Job")
        for c in pod_spec(obj)["containers"]
    }
    assert images == {f"{IMAGE_REPO}/eidosd:{__version__}", f"{IMAGE_REPO}/eidos-agent:{__version__}"}
    assert AgentOptions().image == f"{IMAGE_REPO}/eidos-agent:{__version__}"


# -- Service, PDB, HPA, NetworkPolicy ---------------------------------------------------------------


def test_service_maps_80_to_the_http_port() -> None:
    objs = base()
    service = find(objs, "Service", "eidosd")
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    deployment = eidosd_deployment(objs)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert port_number(container(deployment, "eidosd"), service["spec"]["ports"][0]["targetPort"]) == 8080


def test_pod_disruption_budget() -> None:
    objs = base()
    pdb = find(objs, "PodDisruptionBudget", "eidosd")
    assert pdb["spec"]["minAvailable"] == 2
    assert pdb["spec"]["selector"]["matchLabels"] == eidosd_deployment(objs)["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["minAvailable"] < eidosd_deployment(objs)["spec"]["replicas"]  # drains can proceed


def test_horizontal_pod_autoscaler() -> None:
    objs = base()
    hpa = find(objs, "HorizontalPodAutoscaler", "eidosd")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "eidosd"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["metrics"]}
    assert targets == {
        "cpu": {"type": "Utilization", "averageUtilization": 70},
        "memory": {"type": "Utilization", "averageUtilization": 80},
    }
    up, down = hpa["behavior"]["scaleUp"], hpa["behavior"]["scaleDown"]
    assert up["stabilizationWindowSeconds"] == 0 and up["selectPolicy"] == "Max"
    assert down["stabilizationWindowSeconds"] == 300 and down["selectPolicy"] == "Min"
    assert {"type": "Pods", "value": 1, "periodSeconds": 60} in down["policies"]
    assert hpa["minReplicas"] > find(objs, "PodDisruptionBudget", "eidosd")["spec"]["minAvailable"]


def test_network_policy() -> None:
    objs = base()
    policy = find(objs, "NetworkPolicy", "eidosd")["spec"]
    assert policy["podSelector"]["matchLabels"] == eidosd_deployment(objs)["spec"]["selector"]["matchLabels"]
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    http = port_number(eidosd_container(objs), "http")
    assert policy["ingress"] == [{"ports": [{"protocol": "TCP", "port": http}]}]
    egress = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6443)}


# -- components --------------------------------------------------------------------------------------


def test_ingress_exposes_only_api_routes(app: web.Application, tmp_path: Path) -> None:
    objs = render_with_components(tmp_path, ["ingress"])
    ingress = find(objs, "Ingress", "eidosd")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"]
    (rule,) = ingress["spec"]["rules"]
    assert ingress["spec"]["tls"] == [{"hosts": [rule["host"]], "secretName": "eidosd-tls"}]
    paths = rule["http"]["paths"]
    for item in paths:
        assert item["backend"] == {"service": {"name": "eidosd", "port": {"name": "http"}}}
        assert routed(app, "GET", item["path"]) == item["path"], f"{item['path']} is not an eidosd route"
    exposed = {item["path"] for item in paths}
    assert not exposed & {"/metrics", "/health", "/ready", "/"}
    assert "/v1/recipe" in exposed
    # the body limit at the edge matches eidosd's own
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == f"{Settings().max_body_bytes // 1024}k"


def test_service_monitor_scrapes_the_service(app: web.Application, tmp_path: Path) -> None:
    objs = render_with_components(tmp_path, ["monitoring"])
    monitor = find(objs, "ServiceMonitor", "eidosd")["spec"]
    service = find(objs, "Service", "eidosd")
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert routed(app, "GET", endpoint["path"]) == "/metrics"
    # the alerts select job="eidosd": the job label this ServiceMonitor yields
    assert service["metadata"]["labels"][monitor["jobLabel"]] == "eidosd"


def test_recipe_data_component_mounts_the_configmap(tmp_path: Path) -> None:
    objs = render_with_components(tmp_path, ["recipe-data"])
    ctr = eidosd_container(objs)
    mount = next(m for m in ctr["volumeMounts"] if m["name"] == "recipe-data")
    assert mount == {"name": "recipe-data", "mountPath": "/data", "readOnly": True}
    assert env_of(ctr)["RECIPE_DATA_PATH"] == mount["mountPath"]
    volume = next(v for v in pod_spec(eidosd_deployment(objs))["volumes"] if v["name"] == "recipe-data")
    assert volume == {"name": "recipe-data", "configMap": {"name": "eidos-recipe-data"}}


def test_recipe_data_overlay_ships_a_valid_data_set() -> None:
    objs = render(K8S / "overlays" / "with-recipe-data")
    (configmap,) = find_all(objs, "ConfigMap")
    volume = next(v for v in pod_spec(eidosd_deployment(objs))["volumes"] if v["name"] == "recipe-data")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]  # the generated (hashed) name
    assert configmap["metadata"]["name"].startswith("eidos-recipe-data-")
    files = read_mapping({k: v.encode() for k, v in configmap["data"].items()}, "with-recipe-data")
    store = load_store(files, source="with-recipe-data")
    assert "site-training" in store.overlays


def test_configmap_watch_component(tmp_path: Path) -> None:
    objs = render_with_components(tmp_path, ["recipe-configmap-watch"])
    spec = pod_spec(eidosd_deployment(objs))
    account = find(objs, "ServiceAccount")
    role = find(objs, "Role")
    binding = find(objs, "RoleBinding")
    assert spec["serviceAccountName"] == account["metadata"]["name"]
    assert spec["automountServiceAccountToken"] is True
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": NAMESPACE}]  # fmt: skip
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}  # fmt: skip
    settings = load_settings(env_of(eidosd_container(objs)))
    cm_namespace, cm_name = settings.recipe_configmap.split("/")
    assert role["metadata"]["namespace"] == cm_namespace
    # get and watch (with a metadata.name field selector), of this one ConfigMap: what
    # ConfigMapSource calls, as recorded against the API emulator in test_configmap_rbac.py.
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [cm_name], "verbs": ["get", "watch"]}
    ]
    assert find_all(objs, "ClusterRole") == [] and find_all(objs, "ClusterRoleBinding") == []


def test_vpa_recommends_without_fighting_the_hpa(tmp_path: Path) -> None:
    objs = render_with_components(tmp_path, ["vpa"])
    vpa = find(objs, "VerticalPodAutoscaler", "eidosd")["spec"]
    assert vpa["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "eidosd"}
    (policy,) = vpa["resourcePolicy"]["containerPolicies"]
    assert policy["containerName"] == eidosd_container(objs)["name"]
    hpa_resources = {m["resource"]["name"] for m in find(objs, "HorizontalPodAutoscaler")["spec"]["metrics"]}
    if hpa_resources & set(policy["controlledResources"]):
        assert vpa["updatePolicy"]["updateMode"] == "Off", "VPA would fight the HPA over the same resources"


def test_overlays_combine_the_components() -> None:
    overlays = K8S / "overlays"
    monitoring = render(overlays / "with-monitoring")
    assert {o["kind"] for o in monitoring} >= {"ServiceMonitor", "PrometheusRule", "Deployment"}
    data = render(overlays / "with-recipe-data")
    assert env_of(eidosd_container(data))["RECIPE_DATA_PATH"] == "/data"
    production = render(overlays / "production")
    assert {o["kind"] for o in production} >= {"Ingress", "ServiceMonitor", "VerticalPodAutoscaler", "Role"}
    load_settings(env_of(eidosd_container(production)))


# -- the agent ----------------------------------------------------------------------------------------


def _by_kind_name(objs: list[Obj]) -> dict[tuple[str, str], Obj]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


@pytest.mark.parametrize(
    ("directory", "host", "all_gpus"),
    [("agent", False, False), ("agent/host", True, False), ("agent/all-gpus", False, True)],
)
def test_agent_objects_equal_what_the_cli_deploys(directory: str, host: bool, all_gpus: bool) -> None:
    rendered = _by_kind_name(render(K8S / directory))
    opts = AgentOptions(namespace=AGENT_NAMESPACE, output=AGENT_OUTPUT, host=host, all_gpus=all_gpus)
    expected = _by_kind_name([*rbac_objects(opts), job_object(opts)])
    assert sorted(rendered) == sorted(expected)
    for key, obj in expected.items():
        assert rendered[key] == obj, f"{key} differs from eidos_cli.agent.manifests"


def test_agent_rbac_is_least_privilege() -> None:
    objs = render(K8S / "agent")
    rules = [rule for o in objs if o["kind"] in ("Role", "ClusterRole") for rule in o["rules"]]
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert not any(r == "secrets" or r == "*" or v == "*" or g == "*" for g, r, v in granted)
    writes = {(g, r, v) for g, r, v in granted if v not in ("get", "list", "watch")}
    assert writes == {("", "configmaps", "create"), ("", "configmaps", "update")}
    role = find(objs, "Role")
    assert role["metadata"]["namespace"] == AGENT_NAMESPACE  # writes stay in the agent's namespace


def test_agent_job_security_variants() -> None:
    restricted = pod_spec(find(render(K8S / "agent"), "Job"))
    assert restricted_violations(restricted) == []
    sc = restricted["containers"][0]["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"] == {"drop": ["ALL"]}
    host = pod_spec(find(render(K8S / "agent" / "host"), "Job"))
    # the host variant needs a privileged namespace for its one hostPath, and nothing else
    problems = restricted_violations(host)
    assert problems and all("hostPath" in p for p in problems), problems
    assert host["containers"][0]["securityContext"] == sc, "the host variant keeps the restricted container"
    assert all(m.get("readOnly") for m in host["containers"][0]["volumeMounts"] if m["name"] != "tmp")


def test_durations_in_manifests_parse() -> None:
    """Every duration-valued variable in every rendering is one eidosd accepts."""
    for directory in kustomization_dirs():
        for obj in render(directory):
            if obj["kind"] != "Deployment":
                continue
            for name, value in env_of(container(obj, "eidosd")).items():
                if name.endswith(("_TIMEOUT", "_DELAY")):
                    assert parse_duration(name, value) >= 0


# -- the validator itself ------------------------------------------------------------------------


def test_validation_refuses_what_it_cannot_vouch_for() -> None:
    """Bad built-in objects, bad custom resources and unknown kinds all fail; none is skipped."""
    deployment = eidosd_deployment(base())
    container(deployment, "eidosd")["imagePullPolicy"] = "Sometimes"
    container(deployment, "eidosd")["imagee"] = "typo"
    with pytest.raises(AssertionError, match="imagee"):
        validate_objects([deployment])
    rule = find(render(K8S / "overlays" / "with-monitoring"), "PrometheusRule")
    rule["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"
    with pytest.raises(AssertionError, match="ten minutes"):
        validate_objects([rule])
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "eidos"}}
    with pytest.raises(AssertionError, match="Widget w: no built-in schema"):
        validate_objects([unknown])
