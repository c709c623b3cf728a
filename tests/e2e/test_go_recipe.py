"""A recipe in the shape the Go reference writes (4-space go-yaml, its field set, quoted
operators) goes through ``eidos-cli validate`` and ``eidos-cli bundle`` unchanged, with the
reference's recipe data layered in for its values files and manifests."""

from __future__ import annotations

import subprocess
from pathlib import Path

from eidos_core import yaml
from tests.support import EIDOS_CLI

# Written for this test in the reference's layout (its worked example E1, abridged).
GO_RECIPE = """\
kind: recipeResult
apiVersion: eidos.nvidia.com/v1alpha1
metadata:
    version: v0.26.7
    appliedOverlays:
        - base
        - monitoring-hpa
        - eks
        - eks-training
        - gb200-eks-training
        - gb200-eks-ubuntu-training
criteria:
    service: eks
    accelerator: gb200
    intent: training
    os: ubuntu
constraints:
    - name: K8s.server.version
      value: '>= 1.32.4'
    - name: OS.release.ID
      value: ubuntu
    - name: OS.release.VERSION_ID
      value: "24.04"
componentRefs:
    - name: cert-manager
      type: Helm
      source: https://charts.jetstack.io
      version: v1.17.2
      valuesFile: components/cert-manager/values.yaml
    - name: gpu-operator
      type: Helm
      source: https://helm.ngc.nvidia.com/nvidia
      version: v25.3.3
      valuesFile: components/gpu-operator/values-eks-training.yaml
      overrides:
          cdi:
              default: false
              enabled: true
          driver:
              version: 580.82.07
      dependencyRefs:
          - cert-manager
      manifestFiles:
          - components/gpu-operator/manifests/dcgm-exporter.yaml
          - components/gpu-operator/manifests/kernel-module-params.yaml
deploymentOrder:
    - cert-manager
    - gpu-operator
"""


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert EIDOS_CLI, "eidos-cli is not installed"
    return subprocess.run([EIDOS_CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_go_recipe_validates_and_bundles(reference_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "recipe.yaml").write_text(GO_RECIPE)
    snapshot = str(reference_dir / "snapshots" / "gb200.yaml")

    done = cli(tmp_path, "validate", "-r", "recipe.yaml", "-s", snapshot, "-t", "json")
    assert done.returncode == 0, done.stderr
    report = yaml.load(done.stdout)
    assert {r["name"]: r["status"] for r in report["results"]} == {
        "K8s.server.version": "passed",
        "OS.release.ID": "passed",
        "OS.release.VERSION_ID": "passed",
    }

    done = cli(tmp_path, "bundle", "-r", "recipe.yaml", "-o", "out", "--data", str(reference_dir / "recipe-data"))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    plan = yaml.load((out / "install-plan.yaml").read_bytes())
    assert [(s["component"], s["chart"]["version"]) for s in plan["steps"]] == [
        ("cert-manager", "v1.17.2"),
        ("gpu-operator", "v25.3.3"),
    ]
    gpu = yaml.load((out / "gpu-operator" / "values.yaml").read_bytes())
    assert gpu["driver"]["version"] == "580.82.07"  # a string, not a number
    assert gpu["cdi"] == {"default": False, "enabled": True}
    manifests = sorted(p.name for p in (out / "gpu-operator" / "manifests").iterdir())
    assert manifests == ["dcgm-exporter.yaml", "kernel-module-params.yaml"]
    assert subprocess.run(["sha256sum", "-c", "checksums.txt"], cwd=out, capture_output=True).returncode == 0
