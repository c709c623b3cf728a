"""Bundles checked by the real tools: ``sha256sum -c`` and the real ``helm`` binary.

Recipes come from the embedded data and from the reference's recipe data (../shared, skipped
when absent). Each Helm bundle must pass ``helm lint``; then every dependency is replaced by a
local stub chart that renders the values it receives into a ConfigMap, and ``helm template``
must show each component's values arriving at its chart (aliases included), the recipe's
manifests rendering where their conditions say, and conditions switching components off.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from eidos_cli.bundle.writer import RECORD_FILE
from eidos_cli.commands import bundle
from eidos_core import yaml
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.result import recipe_to_document
from eidos_core.sources.directory import load_directory
from eidos_core.sources.embedded import embedded_store
from tests.conftest import SHARED

INSTALL_HELM = SHARED / "tools" / "install-helm"
HELM_CACHE = Path(os.environ.get("EIDOS_TEST_HELM_DIR", Path.home() / ".cache" / "eidos-test-helm"))

EMBEDDED = {
    "eks-gb200-ubuntu-training": Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu"),
    "h100-inference": Criteria(accelerator="h100", intent="inference"),
    "gke-cos": Criteria(service="gke", os="cos"),
    "aks-training": Criteria(service="aks", intent="training", nodes=8),
    "oke-l40": Criteria(service="oke", accelerator="l40"),
    "eks-amazonlinux": Criteria(service="eks", os="amazonlinux"),
    "any": Criteria(),
}
# recipe-engine.md §17 E1, E2, E3, E5 over the reference's own data.
REFERENCE = {
    "E1": Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu"),
    "E2": Criteria(service="eks", accelerator="gb200", intent="training"),
    "E3": Criteria(accelerator="h100", intent="inference", os="ubuntu"),
    "E5": Criteria(service="gke", os="cos"),
}


def run_tool(*cmd: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real helm binary, installed once into a stable cache (or a temp dir if that is read-only)."""
    if not INSTALL_HELM.is_file():
        pytest.skip("../shared/tools/install-helm is not present")
    try:
        HELM_CACHE.mkdir(parents=True, exist_ok=True)
        dest = HELM_CACHE if os.access(HELM_CACHE, os.W_OK) else tmp_path_factory.mktemp("helm")
    except OSError:
        dest = tmp_path_factory.mktemp("helm")
    proc = subprocess.run([INSTALL_HELM, dest], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"install-helm failed:\n{proc.stdout}\n{proc.stderr}"
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert "v4." in run_tool(path, "version", "--short")
    return path


@pytest.fixture(scope="module")
def reference_store(reference_data: Path) -> RecipeStore:
    return load_directory(reference_data)


def cli(*argv: str) -> int:
    p = argparse.ArgumentParser()
    bundle.register(p.add_subparsers())
    args = p.parse_args(["bundle", *argv])
    code: int = args.run(args)
    return code


def write_recipe(tmp: Path, store: RecipeStore, criteria: Criteria, version: str) -> Path:
    path = tmp / "recipe.yaml"
    path.write_text(yaml.dump(recipe_to_document(build_recipe(store, criteria), version)))
    return path


def stub_dependencies(chart_dir: Path) -> dict[str, str]:
    """A stub chart per dependency under charts/; returns component → chart name.

    The stub names its ConfigMap after ``.Chart.Name``, which Helm sets to the alias when
    there is one, so the ConfigMap is always ``<component>-received``."""
    chart = yaml.load((chart_dir / "Chart.yaml").read_bytes())
    out = {}
    for dep in chart["dependencies"]:
        component = dep.get("alias", dep["name"])
        stub = chart_dir / "charts" / dep["name"]
        (stub / "templates").mkdir(parents=True)
        (stub / "Chart.yaml").write_text(
            yaml.dump({"apiVersion": "v2", "name": dep["name"], "version": str(dep["version"])})
        )
        (stub / "templates" / "values.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            "  name: {{ .Chart.Name }}-received\n"
            "data:\n  values: {{ toJson .Values | quote }}\n"
        )
        out[component] = dep["name"]
    return out


def rendered(helm: Path, chart_dir: Path, *extra: str) -> list[dict[str, Any]]:
    text = run_tool(helm, "template", "eidos-stack", chart_dir, "-n", "eidos-stack", *extra)
    docs = [yaml.load(part) for part in text.split("\n---\n")]
    return [d for d in docs if isinstance(d, dict)]


def received(docs: list[dict[str, Any]], chart: str) -> dict[str, Any] | None:
    for doc in docs:
        if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == f"{chart}-received":
            values: dict[str, Any] = json.loads(doc["data"]["values"])
            return values
    return None


def as_received(values: dict[str, Any]) -> dict[str, Any]:
    """What a sub-chart sees of these values: Helm gives every sub-chart a ``global`` map."""
    return {"global": {}, **values}


def check_checksums(out: Path, expected: set[str]) -> None:
    listed = run_tool("sha256sum", "-c", "checksums.txt", cwd=out)
    assert {line.rsplit(": ", 1)[0] for line in listed.splitlines() if line.endswith(": OK")} == expected


def check_helm_bundle(helm: Path, out: Path, ubuntu_manifest: str, dcgm_manifest: str) -> list[dict[str, Any]]:
    """The checks every Helm bundle passes; returns what ``helm template`` rendered."""
    values = yaml.load((out / "values.yaml").read_bytes())
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != RECORD_FILE}
    check_checksums(out, files - {"checksums.txt", "recipe.yaml"})

    lint = run_tool(helm, "lint", out)
    assert "0 chart(s) failed" in lint

    charts = stub_dependencies(out)
    assert set(charts) == set(values)
    assert "0 chart(s) failed" in run_tool(helm, "lint", "--strict", out)
    docs = rendered(helm, out)
    for component, chart in charts.items():
        assert received(docs, component) == as_received(values[component]), component
        assert chart == component or (out / "charts" / chart).is_dir()

    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    skyhook = values.get("skyhook-operator", {}).get("customization")
    ubuntu = [d for d in docs if d["kind"] == "Skyhook"]
    if (out / "templates" / ubuntu_manifest).exists():
        assert bool(ubuntu) == (skyhook == "ubuntu")
    else:
        assert not ubuntu
    config = values["gpu-operator"]["dcgmExporter"]["config"]
    assert (("ConfigMap", config["name"]) in kinds) == (
        (out / "templates" / dcgm_manifest).exists() and config["create"]
    )

    # The chart's conditions use the component name, aliases included.
    off = rendered(helm, out, "--set", "prometheus.enabled=false", "--set", "gpu-operator.enabled=false")
    assert received(off, "prometheus") is None
    assert received(off, "gpu-operator") is None
    assert received(off, "cert-manager") == as_received(values["cert-manager"])
    return docs


@pytest.mark.parametrize("name", list(EMBEDDED))
def test_embedded_recipe_bundles(helm: Path, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = write_recipe(tmp_path, embedded_store(), EMBEDDED[name], "v1.2.3")
    out = tmp_path / "bundle"
    assert cli("-r", str(recipe), "-o", str(out)) == 0
    assert f"Output directory: {out}\n" in capsys.readouterr().out
    docs = check_helm_bundle(helm, out, "ubuntu-tuning.yaml", "dcgm-metrics.yaml")
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("ConfigMap", "dcgm-metrics") in kinds  # every recipe has the base gpu-operator manifest
    if name == "eks-gb200-ubuntu-training":
        assert ("Skyhook", "ubuntu-gpu-tuning") in kinds
        assert ("ConfigMap", "kernel-module-params") in kinds


@pytest.mark.parametrize("name", list(REFERENCE))
def test_reference_recipe_bundles(
    helm: Path, tmp_path: Path, name: str, reference_store: RecipeStore, reference_data: Path
) -> None:
    recipe = write_recipe(tmp_path, reference_store, REFERENCE[name], "v0.26.7-next")
    out = tmp_path / "bundle"
    assert cli("-r", str(recipe), "-o", str(out), "--data", str(reference_data)) == 0
    values = yaml.load((out / "values.yaml").read_bytes())
    if name == "E1":  # cli-bundle.md §13.3: how gpu-operator is assembled
        gpu = values["gpu-operator"]
        assert gpu["driver"]["version"] == "580.82.07"
        assert gpu["cdi"] == {"default": False, "enabled": True}
        assert gpu["hostPaths"] == {"driverInstallDir": "/run/nvidia/driver"}
        assert gpu["devicePlugin"]["env"][0] == {"name": "DP_DISABLE_HEALTHCHECKS", "value": "109"}
        assert values["skyhook-operator"]["controllerManager"]["tolerations"] == [{"operator": "Exists"}]
        assert (out / "Chart.yaml").read_text().count("  - name: ") == 7
    docs = check_helm_bundle(helm, out, "customization-ubuntu.yaml", "dcgm-exporter.yaml")
    assert any(d["kind"] == "Skyhook" for d in docs) == (name in ("E1", "E3"))


def test_flags_reach_the_charts(helm: Path, tmp_path: Path) -> None:
    crit = EMBEDDED["eks-gb200-ubuntu-training"]
    recipe = write_recipe(tmp_path, embedded_store(), crit, "v1")
    out = tmp_path / "bundle"
    code = cli(
        "-r", str(recipe), "-o", str(out),
        "--set", "gpuoperator:driver.version=999.1.2,gpuoperator:dcgmExporter.config.create=false",
        "--set", "skyhook:customization=none,kube-prometheus-stack:grafana.replicas=2",
        "--system-node-selector", "pool=system",
        "--accelerated-node-toleration", "nvidia.com/gpu=present:NoSchedule",
    )  # fmt: skip
    assert code == 0
    charts = stub_dependencies(out)
    docs = rendered(helm, out)
    gpu = received(docs, "gpu-operator")
    assert gpu is not None
    assert gpu["driver"]["version"] == "999.1.2"
    assert gpu["operator"]["nodeSelector"] == {"pool": "system"}
    toleration = {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}
    assert gpu["daemonsets"]["tolerations"] == [toleration]
    assert charts["prometheus"] == "kube-prometheus-stack"
    prom = received(docs, "prometheus")
    assert prom is not None
    assert prom["grafana"]["replicas"] == 2
    assert prom["grafana"]["nodeSelector"] == {"pool": "system"}
    kinds = {d["kind"] for d in docs}
    assert "Skyhook" not in kinds  # customization is no longer ubuntu
    assert all(d["metadata"]["name"] != "dcgm-metrics" for d in docs)


def test_argocd_bundle_checks_out(helm: Path, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, embedded_store(), EMBEDDED["aks-training"], "v1")
    out = tmp_path / "gitops"
    assert cli("-r", str(recipe), "-o", str(out), "-d", "argocd", "--repo", "https://git.example/gitops.git") == 0
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != RECORD_FILE}
    check_checksums(out, files - {"checksums.txt"})
    # Each Application's values file works as Helm values for its chart.
    app = yaml.load((out / "gpu-operator" / "application.yaml").read_bytes())
    source = app["spec"]["sources"][0]
    stub = tmp_path / "stub"
    (stub / "templates").mkdir(parents=True)
    (stub / "Chart.yaml").write_text(f"apiVersion: v2\nname: {source['chart']}\nversion: {source['targetRevision']}\n")
    (stub / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}-received\n"
        "data:\n  values: {{ toJson .Values | quote }}\n"
    )
    docs = rendered(helm, stub, "-f", str(out / "gpu-operator" / "values.yaml"))
    got = received(docs, source["chart"])
    expected = yaml.load((out / "gpu-operator" / "values.yaml").read_text().split("---\n", 1)[1])
    assert got is not None
    assert got == expected  # a top-level chart gets no implicit global map
    assert got["driver"]["rdma"]["enabled"] is True


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, embedded_store(), EMBEDDED["eks-gb200-ubuntu-training"], "v1")

    def generate(name: str, *extra: str) -> dict[str, bytes]:
        out = tmp_path / name
        assert cli("-r", str(recipe), "-o", str(out), "--set", "gpuoperator:a.b=1", *extra) == 0
        return {
            p.relative_to(out).as_posix(): p.read_bytes()
            for p in out.rglob("*")
            if p.is_file() and p.name != RECORD_FILE
        }

    assert generate("helm-1") == generate("helm-2")
    assert generate("argo-1", "-d", "argocd") == generate("argo-2", "-d", "argocd")
    assert len(generate("helm-3")) == 8
