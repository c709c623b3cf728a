"""Bundles checked by the real tools: ``sha256sum -c``, ``bash`` and the real ``helm`` binary
against the real upstream charts (../shared/upstream-charts; no stub charts).

Each Helm bundle's own ``deploy.sh`` runs with ``EIDOS_CHARTS`` pointing at the upstream chart
packages and a ``helm`` on PATH that turns each ``helm upgrade --install`` into the real
``helm template`` with the same chart, namespace, values and ``--set`` flags — so every step's
values must be accepted by the real chart's templates, in the namespace the plan gives it —
and a ``kubectl`` that checks each extra manifest it is asked to apply. NVSentinel has no chart
there: it is disabled at install time (``EIDOS_DISABLE``) and listed as unchecked.
"""

from __future__ import annotations

import argparse
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

UPSTREAM_CHARTS = SHARED / "upstream-charts"
NO_CHART = ("nvsentinel",)  # not in upstream-charts: unchecked, on purpose and listed

EMBEDDED = {
    "eks-gb200-ubuntu-training": Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu"),
    "h100-inference": Criteria(accelerator="h100", intent="inference"),
    "gke-cos": Criteria(service="gke", os="cos"),
    "aks-training": Criteria(service="aks", intent="training", nodes=8),
    "oke-l40": Criteria(service="oke", accelerator="l40"),
    "eks-amazonlinux": Criteria(service="eks", os="amazonlinux"),
    "any": Criteria(),
}
# The reference's worked examples E1, E2, E3 and E5 (criteria → recipe) over its own data.
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


HELM_SHIM = """#!/usr/bin/env bash
# Test stand-in for `helm upgrade --install`: the real `helm template` of the same chart, flags and values.
set -euo pipefail
[ "$1 $2" = "upgrade --install" ] || { echo "unexpected: helm $*" >&2; exit 99; }
shift 2
release="$1"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --wait|--create-namespace) shift ;;
    --timeout) shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
echo "helm $release" >> "$EIDOS_TEST_LOG"
"$EIDOS_TEST_HELM" template "${args[@]}" > "$EIDOS_TEST_OUT/$release.yaml"
"""
KUBECTL_SHIM = """#!/usr/bin/env bash
# Test stand-in for `kubectl apply -n NS -f FILE`: the file must exist; the call is logged.
set -euo pipefail
[ "$1 $2" = "apply -n" ] && [ "$4" = "-f" ] && [ -f "$5" ] || { echo "unexpected: kubectl $*" >&2; exit 99; }
echo "kubectl $3 $5" >> "$EIDOS_TEST_LOG"
"""


@pytest.fixture(scope="session")
def upstream_charts() -> Path:
    if not (UPSTREAM_CHARTS / "index.yaml").is_file():
        pytest.skip("../shared/upstream-charts is not present")
    return UPSTREAM_CHARTS


def docs_of(text: str) -> list[dict[str, Any]]:
    docs = [yaml.load(part) for part in ("\n" + text).split("\n---\n")]
    return [d for d in docs if isinstance(d, dict)]


def check_checksums(out: Path) -> None:
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != RECORD_FILE}
    listed = run_tool("sha256sum", "-c", "checksums.txt", cwd=out)
    assert {line.rsplit(": ", 1)[0] for line in listed.splitlines() if line.endswith(": OK")} == files - {
        "checksums.txt"
    }
    assert "recipe.yaml" in files


def deploy(
    helm: Path, charts: Path, out: Path, tmp: Path, disable: tuple[str, ...] = NO_CHART
) -> tuple[list[str], dict[str, list[dict[str, Any]]]]:
    """Run the bundle's deploy.sh against the real charts; the log and each release's objects."""
    shims = tmp / "shims"
    shims.mkdir(exist_ok=True)
    for name, text in (("helm", HELM_SHIM), ("kubectl", KUBECTL_SHIM)):
        (shims / name).write_text(text)
        (shims / name).chmod(0o755)
    rendered = tmp / "rendered"
    rendered.mkdir(exist_ok=True)
    log = tmp / "deploy.log"
    log.write_text("")
    env = {
        "PATH": f"{shims}:/usr/bin:/bin",
        "HOME": str(tmp),
        "EIDOS_CHARTS": str(charts),
        "EIDOS_DISABLE": ",".join(disable),
        "EIDOS_TEST_HELM": str(helm),
        "EIDOS_TEST_OUT": str(rendered),
        "EIDOS_TEST_LOG": str(log),
    }
    proc = subprocess.run(["./deploy.sh"], cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"deploy.sh failed:\n{proc.stdout}\n{proc.stderr}"
    objects = {p.stem: docs_of(p.read_text()) for p in rendered.glob("*.yaml")}
    return log.read_text().splitlines(), objects


def check_helm_bundle(helm: Path, charts: Path, out: Path, tmp: Path) -> dict[str, list[dict[str, Any]]]:
    """The checks every Helm bundle passes; returns each release's rendered objects."""
    check_checksums(out)
    plan = yaml.load((out / "install-plan.yaml").read_bytes())
    steps = plan["steps"]
    log, objects = deploy(helm, charts, out, tmp)
    expected: list[str] = []
    for step in steps:
        if step["component"] in NO_CHART:
            continue
        expected.append(f"helm {step['component']}")
        expected += [f"kubectl {step['namespace']} {m}" for m in step["manifests"]]
    assert log == expected  # install order = plan order, manifests right after their release
    for step in steps:
        if step["component"] in NO_CHART:
            continue
        docs = objects[step["component"]]
        assert docs, step["component"]
        for doc in docs:
            namespace = doc.get("metadata", {}).get("namespace")
            # kube-system always exists (cert-manager's leader-election Roles live there by design).
            assert namespace in (None, step["namespace"], "kube-system"), (step["component"], doc["kind"], namespace)
        for manifest in step["manifests"]:
            doc = yaml.load((out / manifest).read_bytes())
            assert doc["metadata"].get("namespace", step["namespace"]) == step["namespace"]
    # Cross-component references resolve: the adapter's URL names the Prometheus service the
    # real kube-prometheus-stack chart renders, in the namespace the plan gives it.
    by_name = {s["component"]: s for s in steps}
    if "prometheus-adapter" in by_name and "prometheus" in by_name:
        url = yaml.load((out / "prometheus-adapter" / "values.yaml").read_bytes())["prometheus"]["url"]
        services = {
            f"http://{d['metadata']['name']}.{by_name['prometheus']['namespace']}.svc"
            for d in objects["prometheus"]
            if d["kind"] == "Service"
        }
        assert url in services
        adapter = next(d for d in objects["prometheus-adapter"] if d["kind"] == "Deployment")
        assert any(url in arg for arg in adapter["spec"]["template"]["spec"]["containers"][0]["args"])
    return objects


@pytest.mark.parametrize("name", list(EMBEDDED))
def test_embedded_recipe_bundles(
    helm: Path, upstream_charts: Path, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = write_recipe(tmp_path, embedded_store(), EMBEDDED[name], "v1.2.3")
    out = tmp_path / "bundle"
    assert cli("-r", str(recipe), "-o", str(out)) == 0
    assert f"Output directory: {out}\n" in capsys.readouterr().out
    objects = check_helm_bundle(helm, upstream_charts, out, tmp_path)
    if name == "eks-gb200-ubuntu-training":
        dra = objects["nvidia-dra-driver-gpu"]
        assert {d["metadata"].get("namespace") for d in dra} <= {"nvidia-dra-driver-gpu", None}
        assert (out / "skyhook-operator" / "manifests" / "ubuntu-tuning.yaml").is_file()
        assert (out / "gpu-operator" / "manifests" / "kernel-module-params.yaml").is_file()


def test_install_time_disabling(helm: Path, upstream_charts: Path, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, embedded_store(), EMBEDDED["eks-gb200-ubuntu-training"], "v1")
    out = tmp_path / "bundle"
    assert cli("-r", str(recipe), "-o", str(out)) == 0
    log, _ = deploy(helm, upstream_charts, out, tmp_path, ("nvsentinel", "skyhook-operator"))
    assert not [line for line in log if "skyhook" in line]  # its chart and its Skyhook resource
    assert "helm gpu-operator" in log
    # Skipping prometheus while prometheus-adapter's values point at it: refused before anything runs.
    refused = subprocess.run(
        ["./deploy.sh", "--dry-run"], cwd=out, env={"PATH": "/usr/bin:/bin", "EIDOS_DISABLE": "prometheus"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and not refused.stdout
    assert "prometheus-adapter values (prometheus.url) point at prometheus" in refused.stderr
    log, _ = deploy(helm, upstream_charts, out, tmp_path, ("nvsentinel", "prometheus", "prometheus-adapter"))
    assert "helm prometheus" not in log and "helm prometheus-adapter" not in log
    dry = subprocess.run(
        ["./deploy.sh", "--dry-run"], cwd=out, env={"PATH": "/usr/bin:/bin", "EIDOS_DISABLE": "ghost"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert dry.returncode == 2 and "EIDOS_DISABLE names 'ghost'" in dry.stderr


def test_deploy_script_dry_run_and_missing_tools(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, embedded_store(), EMBEDDED["eks-gb200-ubuntu-training"], "v1")
    out = tmp_path / "bundle"
    assert cli("-r", str(recipe), "-o", str(out)) == 0
    env = {"PATH": "/usr/bin:/bin", "EIDOS_TIMEOUT_GPU_OPERATOR": "33m"}
    for script in ("deploy.sh", "undeploy.sh"):
        missing = subprocess.run([f"./{script}"], cwd=out, env=env, capture_output=True, text=True, timeout=60)
        assert missing.returncode == 127 and "'helm' is not on PATH" in missing.stderr
        assert not missing.stdout
    dry = subprocess.run(["./deploy.sh", "--dry-run"], cwd=out, env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert (
        "helm upgrade --install gpu-operator gpu-operator --repo https://helm.ngc.nvidia.com/nvidia --version v26.7.0 "
        "--namespace gpu-operator --create-namespace -f gpu-operator/values.yaml --wait --timeout 33m"
    ) in dry.stdout
    assert "helm upgrade --install nvsentinel oci://ghcr.io/nvidia/nvsentinel --version v0.6.0" in dry.stdout
    undo = subprocess.run(["./undeploy.sh", "--dry-run"], cwd=out, env=env, capture_output=True, text=True, timeout=60)
    assert undo.stdout.index("helm uninstall skyhook-operator") < undo.stdout.index("helm uninstall cert-manager")
    bad = subprocess.run(["./deploy.sh", "--bogus"], cwd=out, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown argument" in bad.stderr
    usage = subprocess.run(["./deploy.sh", "--help"], cwd=out, env=env, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and "EIDOS_DISABLE" in usage.stdout and "set -euo" not in usage.stdout


@pytest.mark.parametrize("name", list(REFERENCE))
def test_reference_recipe_bundles(
    tmp_path: Path, name: str, reference_store: RecipeStore, reference_data: Path
) -> None:
    recipe = write_recipe(tmp_path, reference_store, REFERENCE[name], "v0.26.7-next")
    out = tmp_path / "bundle"
    assert cli("-r", str(recipe), "-o", str(out), "--data", str(reference_data)) == 0
    check_checksums(out)
    plan = yaml.load((out / "install-plan.yaml").read_bytes())
    if name == "E1":  # the reference's worked example of how gpu-operator's values are assembled
        gpu = yaml.load((out / "gpu-operator" / "values.yaml").read_bytes())
        assert gpu["driver"]["version"] == "580.82.07"
        assert gpu["cdi"] == {"default": False, "enabled": True}
        assert gpu["hostPaths"] == {"driverInstallDir": "/run/nvidia/driver"}
        assert gpu["devicePlugin"]["env"][0] == {"name": "DP_DISABLE_HEALTHCHECKS", "value": "109"}
        sky = yaml.load((out / "skyhook-operator" / "values.yaml").read_bytes())
        # The reference registry classes Skyhook's controller accelerated (ours: system), so it
        # gets the default accelerated toleration: the GPU taint only, never every taint.
        assert sky["controllerManager"]["tolerations"] == [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
        assert len(plan["steps"]) == 7
    for step in plan["steps"]:
        for manifest in step["manifests"]:
            assert b"{{" not in (out / manifest).read_bytes()
    has_skyhook = any(b"kind: Skyhook" in (out / m).read_bytes() for s in plan["steps"] for m in s["manifests"])
    assert has_skyhook == (name in ("E1", "E3"))


def test_argocd_bundle_checksums(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, embedded_store(), EMBEDDED["aks-training"], "v1")
    out = tmp_path / "gitops"
    assert cli("-r", str(recipe), "-o", str(out), "-d", "argocd", "--repo", "https://git.example/gitops.git") == 0
    check_checksums(out)
    assert (out / "install-plan.yaml").is_file()


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
