"""The pure checks of ``eidos-cli bundle check``, on plain data (no helm, no files)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from eidos_cli.__main__ import build_parser, main
from eidos_cli.bundle.check.cache import CACHE_ENV, CheckCache, RenderInputs, from_option
from eidos_cli.bundle.check.crds import missing_crds
from eidos_cli.bundle.check.installplan import PlanError, Step, order_findings, parse_plan
from eidos_cli.bundle.check.namespaces import missing_namespaces
from eidos_cli.bundle.check.objects import Rendered, crds_by_kind
from eidos_cli.bundle.check.references import StepValues, dangling_references, service_target
from eidos_cli.bundle.check.report import Finding, Report, Unchecked, render
from eidos_cli.bundle.check.schema import admit, check_version, custom_problems, schema_findings
from eidos_cli.bundle.check.values_keys import ChartValues, key_path, unknown_keys
from eidos_cli.commands.completion import commands_of
from eidos_core.errors import InvalidRequestError

# ---- install-plan.yaml ------------------------------------------------------------------------


def plan(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "eidos.nvidia.com/v1alpha1", "kind": "InstallPlan", "steps": list(steps)}


CERT = {
    "component": "cert-manager",
    "namespace": "cert-manager",
    "chart": {"repository": "https://charts.jetstack.io", "name": "cert-manager", "version": "v1.17.2"},
    "values": "cert-manager/values.yaml",
}


def test_plan_parses_steps_in_order() -> None:
    gpu = {"component": "gpu-operator", "namespace": "gpu-operator", "enabled": False,
           "manifests": ["gpu-operator/manifests/a.yaml"], "dependsOn": ["cert-manager"]}  # fmt: skip
    steps = parse_plan(plan(CERT, gpu))
    assert [s.component for s in steps] == ["cert-manager", "gpu-operator"]
    assert steps[0].chart is not None and steps[0].chart.version == "v1.17.2" and steps[0].enabled
    assert steps[1].chart is None and not steps[1].enabled
    assert steps[1].manifests == ("gpu-operator/manifests/a.yaml",) and steps[1].depends_on == ("cert-manager",)


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({**plan(CERT), "apiVersion": "v1"}, "apiVersion"),
        ({**plan(CERT), "kind": "Plan"}, "kind"),
        ({**plan(), "steps": {}}, "steps"),
        (plan(CERT, {**CERT}), "steps[1].component"),
        (plan({**CERT, "namespace": "Cert_Manager"}), "steps[0].namespace"),
        (plan({**CERT, "enabled": "yes"}), "steps[0].enabled"),
        (plan({**CERT, "chart": {"name": "cert-manager", "version": "v1"}}), "steps[0].chart.repository"),
        (plan({**CERT, "values": "../etc/passwd"}), "steps[0].values"),
        (plan({**CERT, "manifests": "a.yaml"}), "steps[0].manifests"),
        (plan({**CERT, "dependsOn": ["nope"]}), "steps[0].dependsOn[0]"),
        (plan({**CERT, "dependson": ["x"]}), "steps[0].dependson"),
        (plan({**CERT, "kustomize": {"path": "x"}}), "steps[0]"),
    ],
)
def test_plan_shape_errors_name_the_field(doc: dict[str, Any], where: str) -> None:
    with pytest.raises(PlanError) as info:
        parse_plan(doc)
    assert info.value.exit_code == 2
    assert info.value.message.startswith(f"install-plan.yaml: {where}: ")


def test_order_findings() -> None:
    steps = [
        Step("a", "a", depends_on=("b",)),
        Step("b", "b"),
        Step("c", "c", depends_on=("d",)),
        Step("d", "d", enabled=False),
        Step("e", "e", depends_on=("b",)),
    ]
    found = order_findings(steps)
    assert [(f.component, f.key) for f in found] == [("a", "steps[0].dependsOn[0]"), ("c", "steps[2].dependsOn[0]")]
    assert "after" in found[0].message and "disabled" in found[1].message


# ---- unknown values keys ----------------------------------------------------------------------

CHART = ChartValues(
    name="op",
    defaults={
        "driver": {"version": "1", "repoConfig": {"configMapName": ""}, "env": []},
        "resources": {},
        "extra": None,
        "podAnnotations": {"a": "b"},
        "nfd": {"enabled": True},
    },
    subcharts={
        "node-feature-discovery": ChartValues(
            "node-feature-discovery", {"worker": {"config": None}, "master": {"replicas": 1}}
        )
    },
    conditions=frozenset({"nfd.enabled"}),
)


def paths(values: dict[str, Any], chart: ChartValues = CHART) -> list[str]:
    return [k.path for k in unknown_keys(values, chart)]


def test_typo_is_an_unknown_key() -> None:
    found = unknown_keys({"driver": {"versoin": "2", "version": "2"}}, CHART)
    assert [k.path for k in found] == ["driver.versoin"]
    assert "'versoin'" in found[0].message and "op chart" in found[0].message


def test_open_maps_by_default_and_by_name() -> None:
    values = {
        "resources": {"limits": {"cpu": 1}},  # {} default: a slot
        "extra": {"anything": {"deep": 1}},  # null default: a slot
        "podAnnotations": {"x.io/y": "z"},  # free-form by name, whatever the default holds
        "driver": {"nodeSelector": {"k": "v"}, "repoConfig": {"configMapName": "x"}},
        "global": {"imageRegistry": "r"},
    }
    assert paths(values) == []


def test_unknown_top_level_and_nested_under_known() -> None:
    assert paths({"operator": {"defaultRuntime": "containerd"}, "driver": {"repoConfig": {"name": "x"}}}) == [
        "operator",
        "driver.repoConfig.name",
    ]


def test_subchart_keys_checked_against_the_subchart() -> None:
    values = {"node-feature-discovery": {"worker": {"config": {"x": 1}}, "master": {"replicaz": 2}, "enabled": True}}
    assert paths(values) == ["node-feature-discovery.master.replicaz", "node-feature-discovery.enabled"]


def test_subchart_alias_and_condition() -> None:
    parent = ChartValues(
        "kps",
        {"grafana": {"enabled": True, "adminPassword": ""}},
        subcharts={"grafana": ChartValues("grafana", {"persistence": {"enabled": False}})},
        conditions=frozenset({"grafana.enabled"}),
    )
    # adminPassword comes from the parent's defaults under the subchart's key; enabled is the condition
    assert paths({"grafana": {"enabled": False, "adminPassword": "x", "persistence": {"size": "1Gi"}}}, parent) == [
        "grafana.persistence.size"
    ]


def test_schema_decides_where_it_says_additional_properties() -> None:
    chart = ChartValues(
        "cm",
        {"webhook": {"timeoutSeconds": 30}, "config": {}},
        schema={
            "$defs": {"webhook": {"type": "object", "additionalProperties": False,
                                  "properties": {"timeoutSeconds": {}, "hostNetwork": {}}}},
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "webhook": {"$ref": "#/$defs/webhook"},
                "config": {"type": "object", "additionalProperties": False, "properties": {"apiVersion": {}}},
                "podLabels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    )  # fmt: skip
    values = {"webhook": {"hostNetwork": True, "timeout": 1}, "config": {"kind": "x"}, "podLabelz": {}}
    # hostNetwork: in the schema only; config: the default {} is open but the schema closes it
    assert paths(values, chart) == ["webhook.timeout", "config.kind", "podLabelz"]


def test_schema_open_object_accepts_anything() -> None:
    chart = ChartValues("c", {"m": {"a": 1}}, schema={"properties": {"m": {"additionalProperties": True}}})
    assert paths({"m": {"b": 1}}, chart) == []


def test_key_path_brackets_dotted_keys() -> None:
    assert key_path(("podAnnotations", "a.b/c", "x")) == 'podAnnotations["a.b/c"].x'


# ---- objects ------------------------------------------------------------------------------------


def obj(step: int, kind: str, name: str, api: str = "v1", ns: str | None = None, **extra: Any) -> Rendered:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return Rendered(step, f"c{step}", f"c{step}/templates/{name}.yaml", {"apiVersion": api, "kind": kind,
                    "metadata": meta, **extra}, f"ns{step}")  # fmt: skip


def crd(step: int, group: str, kind: str, scope: str = "Namespaced", versions: tuple[str, ...] = ("v1",)) -> Rendered:
    schema = {"openAPIV3Schema": {"type": "object"}}
    spec = {
        "group": group,
        "names": {"kind": kind, "plural": f"{kind.lower()}s"},
        "scope": scope,
        "versions": [{"name": v, "served": True, "storage": v == versions[0], "schema": schema} for v in versions],
    }
    return obj(step, "CustomResourceDefinition", f"{kind.lower()}s.{group}", "apiextensions.k8s.io/v1", spec=spec)


def test_custom_resource_needs_an_earlier_crd() -> None:
    objects = [
        crd(0, "cert-manager.io", "Issuer"),
        obj(0, "Issuer", "same-step", "cert-manager.io/v1"),
        obj(1, "Issuer", "later-step", "cert-manager.io/v1"),
        obj(1, "Issuer", "old", "cert-manager.io/v1alpha2"),
        obj(1, "Skyhook", "tuning", "skyhook.nvidia.com/v1alpha1"),
        obj(1, "ServiceMonitor", "m", "monitoring.coreos.com/v1"),
        crd(2, "monitoring.coreos.com", "ServiceMonitor"),
        obj(1, "Deployment", "d", "apps/v1"),
    ]
    found = {(f.component, f.key): f.message for f in missing_crds(objects, ["c0", "c1", "c2"])}
    assert set(found) == {("c1", "Issuer/old"), ("c1", "Skyhook/tuning"), ("c1", "ServiceMonitor/m")}
    assert "not served" in found[("c1", "Issuer/old")]
    assert "no step provides" in found[("c1", "Skyhook/tuning")]
    assert "'c2', which installs after 'c1'" in found[("c1", "ServiceMonitor/m")]


def test_namespaces() -> None:
    objects = [
        obj(0, "ConfigMap", "implicit"),  # lands in ns0, created by helm
        obj(0, "ConfigMap", "system", ns="kube-system"),
        obj(0, "ConfigMap", "typo", ns="gpu-operatr"),
        obj(0, "ConfigMap", "early", ns="ns1"),
        obj(1, "ConfigMap", "ok", ns="ns0"),
        obj(1, "Namespace", "extra"),
        obj(1, "ConfigMap", "in-extra", ns="extra"),
        obj(0, "ClusterRole", "cr", "rbac.authorization.k8s.io/v1", ns="nowhere"),
        crd(0, "x.io", "Cluster", scope="Cluster"),
        obj(0, "Cluster", "c", "x.io/v1", ns="nowhere"),
    ]
    found = {f.key: f.message for f in missing_namespaces(objects, [("c0", "ns0"), ("c1", "ns1")])}
    assert set(found) == {"ConfigMap/typo", "ConfigMap/early"}
    assert "created by no step" in found["ConfigMap/typo"]
    assert "only later, by 'c1'" in found["ConfigMap/early"]


def test_references() -> None:
    objects = [
        obj(0, "ConfigMap", "kernel-module-params"),
        obj(0, "Service", "prometheus-operated", ns="monitoring"),
        obj(2, "Secret", "late"),
    ]
    steps = [
        StepValues(0, "gpu-operator", "gpu-operator", "ns0", "gpu/values.yaml", {
            "driver": {"kernelModuleConfig": {"name": "kernel-module-params"}, "repoConfig": {"configMapName": ""}},
            "dcgmExporter": {"config": {"name": "dcgm-metrics"}},
        }),
        StepValues(1, "adapter", "prometheus-adapter", "ns1", "a/values.yaml",
                   {"prometheus": {"url": "http://prometheus-operated.monitoring.svc", "port": 9090}}),
        StepValues(1, "adapter2", "prometheus-adapter", "ns1", "a2/values.yaml",
                   {"prometheus": {"url": "http://prom.monitoring.svc.cluster.local:9090"}}),
        StepValues(0, "other", "other", "ns2", "o/values.yaml", {"auth": {"existingSecret": "late"}}),
    ]  # fmt: skip
    found = {(f.component, f.key): f.message for f in dangling_references(steps, objects)}
    assert found == {
        ("gpu-operator", "dcgmExporter.config.name"): "ConfigMap ns0/dcgm-metrics is rendered by no step",
        ("adapter2", "prometheus.url"): "Service monitoring/prom is rendered by no step",
        ("other", "auth.existingSecret"): "Secret ns2/late is rendered by no step before this one",
    }


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://prom.monitoring.svc", ("prom", "monitoring")),
        ("http://prom.monitoring.svc.cluster.local:9090/", ("prom", "monitoring")),
        ("http://prom.monitoring:9090", ("prom", "monitoring")),
        ("http://prom", ("prom", "here")),
        ("https://prometheus.example.com", None),
    ],
)
def test_service_target(url: str, target: tuple[str, str] | None) -> None:
    assert service_target(url, "here") == target


# ---- schema -------------------------------------------------------------------------------------

CR_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["mode"],
            "properties": {
                "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                "port": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "name": {"type": "string"},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
    },
}


def test_custom_resource_schema_as_the_api_server_reads_it() -> None:
    good = {"apiVersion": "x.io/v1", "kind": "K", "metadata": {"name": "n"},
            "spec": {"port": "http", "note": None, "name": None, "free": {"any": 1}}}  # fmt: skip
    assert custom_problems(good, CR_SCHEMA) == []
    assert admit(good, CR_SCHEMA)["spec"]["mode"] == "a"  # defaulted
    assert "name" not in admit(good, CR_SCHEMA)["spec"]  # null in a non-nullable field is pruned
    bad = {"spec": {"mode": "c", "port": 1.5, "nmae": "x"}}
    problems = custom_problems(bad, CR_SCHEMA)
    assert len(problems) == 3
    assert any("/spec/mode" in p for p in problems) and any("'nmae'" in p for p in problems)


def test_schema_findings_builtin_and_custom() -> None:
    objects = [
        obj(0, "ConfigMap", "ok", data={"a": "b"}),
        obj(0, "Deployment", "bad", "apps/v1", spec={"replicas": "two"}),
        obj(0, "ConfigMap", "unknown", dta={"a": "b"}),
        crd(0, "x.io", "K"),
        obj(0, "K", "k", "x.io/v1", spec={}),
    ]
    found = schema_findings(objects, crds_by_kind(objects), "1.33.0")
    assert sorted(f.key for f in found) == ["ConfigMap/unknown", "Deployment/bad"]


def test_kubernetes_version() -> None:
    assert check_version("v1.33") == "1.33.0"
    with pytest.raises(InvalidRequestError, match="known versions"):
        check_version("1.5")


# ---- report and command line ------------------------------------------------------------------


def test_report_exit_codes_and_formats() -> None:
    report = Report(checked=["a"], unchecked=[Unchecked("nvsentinel", "chart not found")])
    assert report.exit_code(strict=False) == 0 and report.exit_code(strict=True) == 7
    assert "nvsentinel" in render(report, "table")
    report.findings.append(Finding("a", "a/values.yaml", "driver.versoin", "unknown-key", "no such value"))
    assert report.exit_code(strict=False) == 7
    doc = json.loads(render(report, "json"))
    assert doc["findings"][0]["key"] == "driver.versoin" and doc["unchecked"][0]["component"] == "nvsentinel"
    table = render(report, "table").splitlines()
    assert table[0].split()[:4] == ["COMPONENT", "FILE", "KEY", "CHECK"]
    assert table[-1] == "1 component(s) checked, 1 unchecked (nvsentinel: chart not found), 1 finding(s)"


def test_bundle_check_is_an_action_of_bundle() -> None:
    args = build_parser().parse_args(["bundle", "check", "dir", "--charts", "c", "-t", "json", "--strict"])
    assert (args.dir, args.charts, args.format, args.strict) == ("dir", "c", "json", True)
    args = build_parser().parse_args(["bundle", "-r", "recipe.yaml", "-o", "out"])
    assert args.recipe == "recipe.yaml"
    commands = commands_of(build_parser())
    assert "check" in commands["bundle"].words and "--charts" in commands["bundle check"].flags


def test_bundle_without_recipe_is_still_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:  # as before `check` existed: argparse's usage error
        main(["bundle", "-o", "x"])
    assert info.value.code == 2
    assert "-r/--recipe" in capsys.readouterr().err


def test_bundle_check_without_plan_is_exit_2(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", "check", str(tmp_path)]) == 2
    assert "install-plan.yaml" in capsys.readouterr().err


# ---- the cache (eidos_cli.bundle.check.cache) ----------------------------------------------------

RENDER_INPUTS = RenderInputs(
    chart="gpu-operator",
    version="v25.10.1",
    package="a" * 64,
    release="gpu-operator",
    namespace="gpu-operator",
    values=b"driver:\n  version: 580.95.05\n",
    kube_version="1.34.0",
    api_versions=("apiregistration.k8s.io/v1", "monitoring.coreos.com/v1"),
    helm="version.BuildInfo{Version:v4.0.0}",
)


@pytest.mark.parametrize(
    "change",
    [
        {"chart": "gpu-operator2"},
        {"version": "25.10.1"},
        {"package": "b" * 64},
        {"release": "gpu"},
        {"namespace": "gpu"},
        {"values": b"driver:\n  version: 580.95.06\n"},
        {"values": None},
        {"kube_version": "1.33.0"},
        {"api_versions": ("apiregistration.k8s.io/v1",)},
        {"api_versions": ("monitoring.coreos.com/v1", "apiregistration.k8s.io/v1")},  # order is helm's input too
        {"helm": "version.BuildInfo{Version:v4.0.1}"},
    ],
    ids=lambda c: next(iter(c)) + ("=None" if None in c.values() else ""),
)
def test_render_key_changes_with_every_input(change: dict[str, Any]) -> None:
    same = dataclasses.replace(RENDER_INPUTS)
    assert same.key() == RENDER_INPUTS.key() and len(same.key()) == 64
    assert dataclasses.replace(RENDER_INPUTS, **change).key() != RENDER_INPUTS.key()


def test_render_key_empty_values_file_is_not_no_values_file() -> None:
    assert dataclasses.replace(RENDER_INPUTS, values=b"").key() != dataclasses.replace(RENDER_INPUTS, values=None).key()


def test_cache_round_trip_and_counts(tmp_path: Path) -> None:
    cache = CheckCache(tmp_path / "c")
    key = RENDER_INPUTS.key()
    assert cache.get("render", key, lambda v: True) is None
    cache.put("render", key, {"documents": [["t.yaml", {"kind": "ConfigMap", "x": 1.0}]]})
    assert cache.get("render", key, lambda v: True) == {"documents": [["t.yaml", {"kind": "ConfigMap", "x": 1.0}]]}
    assert (cache.hits, cache.misses) == ({"render": 1}, {"render": 1})
    # written atomically: the entry and nothing else (no temporary file left behind)
    assert [p.name for p in (tmp_path / "c").rglob("*") if p.is_file()] == [f"{key}.json"]


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"documents": [["t.yaml"', b"\xff\xfe", b'"a string"'])
def test_corrupt_cache_entry_is_a_miss(tmp_path: Path, content: bytes) -> None:
    cache = CheckCache(tmp_path)
    key = "ab" + "0" * 62
    cache.put("render", key, {"ok": True})
    next(tmp_path.rglob("*.json")).write_bytes(content)
    assert cache.get("render", key, lambda v: isinstance(v, dict)) is None
    cache.put("render", key, {"ok": True})  # recomputed and rewritten
    assert cache.get("render", key, lambda v: isinstance(v, dict)) == {"ok": True}


def test_unwritable_cache_costs_only_the_work(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = CheckCache(blocker)
    cache.put("render", "ab" * 32, {"ok": True})  # no exception
    assert cache.get("render", "ab" * 32, lambda v: True) is None


def test_cache_option_then_env_then_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert from_option(None) is None
    monkeypatch.setenv(CACHE_ENV, "  ")
    assert from_option(None) is None
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    assert from_option(None) is not None and from_option(None).root == tmp_path / "env"  # type: ignore[union-attr]
    assert from_option(str(tmp_path / "opt")).root == tmp_path / "opt"  # type: ignore[union-attr]


def test_builtin_schema_verdicts_are_cached_per_step(tmp_path: Path) -> None:
    cache = CheckCache(tmp_path)
    bad = obj(0, "ConfigMap", "a", data={"k": 1})  # data values must be strings
    good = obj(1, "ConfigMap", "b", data={"k": "v"})
    first = schema_findings([bad, good], {}, "1.34.0", cache)
    assert [f.key for f in first] == ["ConfigMap/a"]
    assert cache.misses == {"builtin-schema": 2} and not cache.hits
    assert schema_findings([bad, good], {}, "1.34.0", cache) == first == schema_findings([bad, good], {}, "1.34.0")
    assert cache.hits == {"builtin-schema": 2}
    # another Kubernetes version is another entry
    schema_findings([good], {}, "1.33.0", cache)
    assert cache.misses == {"builtin-schema": 3}
