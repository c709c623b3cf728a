"""``eidos-cli bundle check`` with the real helm against the real upstream chart packages.

Small hand-written bundles (install-plan.yaml, values, extra manifests) over cert-manager
v1.17.2 and gpu-operator v25.10.1 from ../shared/upstream-charts (as a directory and served as
a chart repository on 127.0.0.1): a clean one gives exit 0; each mutation the issue names (a
typo in a values key, a custom resource whose operator is disabled, a wrong namespace, a missing
extra manifest) gives a finding naming component, file and key, and exit 7.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eidos_cli.__main__ import main
from eidos_core import yaml

# The shared fixtures are imported by name, so test arguments "redefine" them (F811).

JETSTACK = "https://charts.jetstack.io"
NGC = "https://helm.ngc.nvidia.com/nvidia"


def step(component: str, chart: str | None, version: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"component": component, "namespace": extra.pop("namespace", component), "enabled": True}
    if chart:
        repo = JETSTACK if chart == "cert-manager" else NGC
        out["chart"] = {"repository": repo, "name": chart, "version": version}
    return {**out, **extra}


KERNEL_PARAMS = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kernel-module-params"},
                 "data": {"nvidia.conf": "NVreg_EnableGpuFirmware=1"}}  # fmt: skip
SKYHOOK_CR = {"apiVersion": "skyhook.nvidia.com/v1alpha1", "kind": "Skyhook", "metadata": {"name": "tuning"},
              "spec": {"packages": {}}}  # fmt: skip


def write_bundle(root: Path, steps: list[dict[str, Any]], files: dict[str, Any]) -> Path:
    plan = {"apiVersion": "eidos.nvidia.com/v1alpha1", "kind": "InstallPlan", "steps": steps}
    (root / "install-plan.yaml").write_text(yaml.dump(plan))
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, list):
            path.write_text("---\n".join(yaml.dump(doc) for doc in content))
        else:
            path.write_text(yaml.dump(content))
    return root


def clean_bundle(root: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    steps = [
        step("cert-manager", "cert-manager", "v1.17.2", values="cert-manager/values.yaml"),
        step("gpu-operator", "gpu-operator", "v25.10.1", values="gpu-operator/values.yaml",
             manifests=["gpu-operator/manifests/kernel-module-params.yaml"], dependsOn=["cert-manager"]),
    ]  # fmt: skip
    files: dict[str, Any] = {
        "cert-manager/values.yaml": {"crds": {"enabled": True}, "webhook": {"timeoutSeconds": 10},
                                     "podLabels": {"team": "gpu"}},
        "gpu-operator/values.yaml": {
            "driver": {"version": "580.95.05", "kernelModuleConfig": {"name": "kernel-module-params"}},
            # dcgmExporter.config is only a comment in values.yaml; the templates read it
            "dcgmExporter": {"config": {"name": "dcgm-metrics", "create": True, "data": "DCGM_FI_DEV_GPU_UTIL,g,u"}},
            "node-feature-discovery": {"worker": {"tolerations": [{"operator": "Exists"}]}},
            "daemonsets": {"annotations": {"example.com/x": "y"}},
        },
        "gpu-operator/manifests/kernel-module-params.yaml": [KERNEL_PARAMS],
    }  # fmt: skip
    return steps, files


@pytest.fixture
def check(helm: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Any]:
    monkeypatch.setenv("PATH", f"{helm.parent}:/usr/bin:/bin")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("EIDOS_CHECK_CACHE", raising=False)  # a developer's cache must not change what is tested

    def run(bundle: Path, *flags: str) -> tuple[int, dict[str, Any]]:
        capsys.readouterr()
        code = main(["bundle", "check", str(bundle), "-t", "json", *flags])
        out = capsys.readouterr().out
        return code, json.loads(out) if out.strip() else {}

    return run


def findings(doc: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(f["component"], f["file"], f["key"], f["check"]) for f in doc["findings"]}


def test_clean_bundle_against_local_folder(tmp_path: Path, check: Callable[..., Any], upstream_charts: Path) -> None:
    bundle = write_bundle(tmp_path, *clean_bundle(tmp_path))
    code, doc = check(bundle, "--charts", str(upstream_charts))
    assert (code, doc["findings"], doc["unchecked"]) == (0, [], []), doc["findings"]
    assert doc["checked"] == ["cert-manager", "gpu-operator"]


def test_clean_bundle_against_served_repository(tmp_path: Path, check: Callable[..., Any], chart_repo: str) -> None:
    bundle = write_bundle(tmp_path, *clean_bundle(tmp_path))
    code, doc = check(bundle, "--charts", chart_repo)
    assert (code, doc["findings"]) == (0, [])


def test_table_output_and_summary(
    tmp_path: Path,
    helm: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    upstream_charts: Path,
) -> None:
    monkeypatch.setenv("PATH", f"{helm.parent}:/usr/bin:/bin")
    steps, files = clean_bundle(tmp_path)
    files["gpu-operator/values.yaml"]["driver"]["versoin"] = "1"
    bundle = write_bundle(tmp_path, steps, files)
    assert main(["bundle", "check", str(bundle), "--charts", str(upstream_charts)]) == 7
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["COMPONENT", "FILE", "KEY", "CHECK", "FINDING"]
    assert lines[1].split()[:4] == ["gpu-operator", "gpu-operator/values.yaml", "driver.versoin", "unknown-key"]
    assert lines[-1] == "2 component(s) checked, 0 unchecked, 1 finding(s)"


def mutate_typo(steps: list[dict[str, Any]], files: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    files["gpu-operator/values.yaml"]["driver"]["verison"] = files["gpu-operator/values.yaml"]["driver"].pop("version")
    files["cert-manager/values.yaml"]["webhook"]["timeoutSecond"] = 5  # a chart with values.schema.json
    return {("gpu-operator", "gpu-operator/values.yaml", "driver.verison", "unknown-key"),
            ("cert-manager", "cert-manager/values.yaml", "webhook.timeoutSecond", "unknown-key"),
            # cert-manager's schema has additionalProperties: false, so helm itself refuses to render
            ("cert-manager", "cert-manager/values.yaml", "-", "render")}  # fmt: skip


def mutate_disabled_operator(steps: list[dict[str, Any]], files: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    steps.append(step("skyhook-operator", "skyhook-operator", "v0.11.1", namespace="skyhook", enabled=False))
    steps.append(step("tuning", None, namespace="skyhook-tuning", manifests=["tuning/skyhook.yaml"]))
    files["tuning/skyhook.yaml"] = [SKYHOOK_CR]
    return {("tuning", "tuning/skyhook.yaml", "Skyhook/tuning", "missing-crd")}


def mutate_namespace(steps: list[dict[str, Any]], files: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    files["gpu-operator/manifests/kernel-module-params.yaml"] = [
        {**KERNEL_PARAMS, "metadata": {"name": "kernel-module-params", "namespace": "gpu-operatr"}}
    ]
    return {
        ("gpu-operator", "gpu-operator/manifests/kernel-module-params.yaml", "ConfigMap/kernel-module-params",
         "namespace"),
        # ... and the ConfigMap the chart is told to read is not where the operator looks for it
        ("gpu-operator", "gpu-operator/values.yaml", "driver.kernelModuleConfig.name", "reference"),
    }  # fmt: skip


def mutate_missing_manifest(steps: list[dict[str, Any]], files: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    del files["gpu-operator/manifests/kernel-module-params.yaml"]
    return {
        ("gpu-operator", "gpu-operator/manifests/kernel-module-params.yaml", "manifests[0]", "missing-file"),
        ("gpu-operator", "gpu-operator/values.yaml", "driver.kernelModuleConfig.name", "reference"),
    }


@pytest.mark.parametrize(
    "mutate",
    [mutate_typo, mutate_disabled_operator, mutate_namespace, mutate_missing_manifest],
    ids=lambda f: f.__name__,
)
def test_mutation_gives_a_finding_and_exit_7(
    tmp_path: Path,
    check: Callable[..., Any],
    upstream_charts: Path,
    mutate: Callable[..., Any],
) -> None:
    steps, files = clean_bundle(tmp_path)
    expected = mutate(steps, files)
    code, doc = check(write_bundle(tmp_path, steps, files), "--charts", str(upstream_charts))
    assert code == 7
    assert findings(doc) == expected, doc["findings"]


def test_unavailable_chart_is_unchecked_not_failed(
    tmp_path: Path,
    check: Callable[..., Any],
    upstream_charts: Path,
) -> None:
    steps, files = clean_bundle(tmp_path)
    steps.append(step("nvsentinel", "nvsentinel", "v0.6.0"))
    bundle = write_bundle(tmp_path, steps, files)
    code, doc = check(bundle, "--charts", str(upstream_charts))
    assert code == 0 and doc["findings"] == []
    assert [u["component"] for u in doc["unchecked"]] == ["nvsentinel"]
    assert "not found" in doc["unchecked"][0]["reason"]
    assert check(bundle, "--charts", str(upstream_charts), "--strict")[0] == 7


def test_charts_from_the_bundle_itself(tmp_path: Path, check: Callable[..., Any], upstream_charts: Path) -> None:
    bundle = write_bundle(tmp_path, *clean_bundle(tmp_path))
    (bundle / "charts").mkdir()
    for name in ("cert-manager-v1.17.2.tgz", "gpu-operator-v25.10.1.tgz"):
        (bundle / "charts" / name).write_bytes((upstream_charts / name).read_bytes())
    code, doc = check(bundle)
    assert (code, doc["findings"], doc["unchecked"]) == (0, [], []), doc["findings"]


def test_no_helm_on_path_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = write_bundle(tmp_path, *clean_bundle(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["bundle", "check", str(bundle)]) == 2


def test_cached_check_gives_identical_findings(tmp_path: Path, check: Callable[..., Any], chart_repo: str) -> None:
    """Cold cache, warm cache and no cache report the same; the warm run really reads the cache."""
    steps, files = clean_bundle(tmp_path)
    expected = mutate_typo(steps, files) | mutate_namespace(steps, files) | mutate_disabled_operator(steps, files)
    files["gpu-operator/values.yaml"]["daemonsets"]["tolerations"] = "not-a-list"  # a schema finding, rendered
    (tmp_path / "bundle").mkdir()
    bundle = write_bundle(tmp_path / "bundle", steps, files)
    cache = tmp_path / "cache"
    code, plain = check(bundle, "--charts", chart_repo)
    assert code == 7 and expected < findings(plain), plain["findings"]
    assert any(f["check"] == "schema" for f in plain["findings"]), plain["findings"]
    assert check(bundle, "--charts", chart_repo, "--cache", str(cache)) == (7, plain)
    entries = sorted(cache.rglob("*.json"))
    # gpu-operator's render and each step's built-in objects; cert-manager's failed render is not kept
    assert {p.parent.parent.name for p in entries} == {"render", "builtin-schema"}
    assert len([p for p in entries if p.parent.parent.name == "render"]) == 1
    assert check(bundle, "--charts", chart_repo, "--cache", str(cache)) == (7, plain)

    # Proof that the warm run reads the cache: an entry edited by hand shows up in the findings.
    render = next(p for p in entries if p.parent.parent.name == "render")
    entry = json.loads(render.read_text())
    entry["unknown"].append(["planted.key", "planted"])
    render.write_text(json.dumps(entry))
    _, planted = check(bundle, "--charts", chart_repo, "--cache", str(cache))
    assert ("gpu-operator", "gpu-operator/values.yaml", "planted.key", "unknown-key") in findings(planted)

    # Corrupt entries are ignored, recomputed and rewritten.
    for path in entries:
        path.write_bytes(b"\x00garbage{")
    assert check(bundle, "--charts", chart_repo, "--cache", str(cache)) == (7, plain)
    assert all(json.loads(p.read_bytes()) is not None for p in entries)
