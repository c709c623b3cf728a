"""Replay steps from a bundle's ``install-plan.yaml``, rendered with the real ``helm`` and real charts.

A chart step becomes a Helm release rendered by ``helm template <component> <chart.tgz> -n <ns> -f <values>
--include-crds --kube-version <cluster's> --api-versions <cluster's>`` at replay time (so templates see what
the steps before them installed, as ``helm install`` does), created with ``--create-namespace`` as the
bundle's deploy.sh does. Its ``manifests`` follow as a ``kubectl apply -n <ns>`` step. Steps that cannot be
rendered here are skipped and listed, never silently passed: a chart the chart folder does not hold
(NVSentinel), a kustomize source (needs the network), a disabled step.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.kube.replay import Capabilities, Manifest, Step, parse_manifests


@dataclasses.dataclass(frozen=True)
class PlanSteps:
    steps: list[Step]
    skipped: list[str]  # "component: why"


class HelmTemplateError(RuntimeError):
    pass


def chart_index(charts: Path) -> dict[tuple[str, str], Path]:
    """(chart name, version) -> package, from the chart folder's ``index.yaml`` (versions also without 'v')."""
    index = YAML(typ="safe").load((charts / "index.yaml").read_text())
    found: dict[tuple[str, str], Path] = {}
    for name, entries in (index.get("entries") or {}).items():
        for entry in entries:
            package = charts / entry["urls"][0]
            version = str(entry["version"])
            found[name, version] = package
            found.setdefault((name, version.removeprefix("v")), package)
            found.setdefault((name, "v" + version.removeprefix("v")), package)
    return found


def helm_template(
    helm: Path, release: str, chart: Path, namespace: str, values: Sequence[Path], caps: Capabilities
) -> list[Manifest]:
    argv = [str(helm), "template", release, str(chart), "-n", namespace, "--include-crds", "--skip-tests"]
    argv += ["--kube-version", caps.kube_version]
    for api_version in caps.api_versions:
        argv += ["--api-versions", api_version]
    for path in values:
        argv += ["-f", str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise HelmTemplateError(f"helm template {release} {chart.name} failed: {proc.stderr.strip()}")
    return parse_manifests(proc.stdout)


def steps_from_plan(
    plan: Mapping[str, Any], bundle: Path, charts: Path, helm: Path, *, create_namespace: bool = True
) -> PlanSteps:
    """Replay steps for a plan document (``install-plan.yaml`` read), paths relative to ``bundle``."""
    index = chart_index(charts)
    steps: list[Step] = []
    skipped: list[str] = []
    for item in plan.get("steps") or []:
        component, namespace = str(item["component"]), str(item["namespace"])
        if item.get("enabled") is False:
            skipped.append(f"{component}: disabled")
            continue
        chart = item.get("chart")
        if item.get("kustomize"):
            skipped.append(f"{component}: kustomize source {item['kustomize'].get('source')} (needs the network)")
            continue
        if chart:
            package = index.get((str(chart["name"]), str(chart["version"])))
            if package is None:
                skipped.append(f"{component}: chart {chart['name']} {chart['version']} is not in {charts}")
                continue
            values = [bundle / item["values"]] if item.get("values") else []

            def render(
                caps: Capabilities, c: str = component, p: Path = package, ns: str = namespace, v: list[Path] = values
            ) -> list[Manifest]:
                return helm_template(helm, c, p, ns, v, caps)

            steps.append(
                Step(component, namespace, render=render, helm_release=True, create_namespace=create_namespace)
            )
        manifests: list[Manifest] = []
        for path in item.get("manifests") or []:
            manifests += parse_manifests((bundle / path).read_text(), str(path))
        if manifests:
            steps.append(Step(f"{component} manifests", namespace, tuple(manifests)))
    return PlanSteps(steps, skipped)


def steps_from_bundle(bundle: Path, charts: Path, helm: Path) -> PlanSteps:
    plan = YAML(typ="safe").load((bundle / "install-plan.yaml").read_text())
    return steps_from_plan(plan, bundle, charts, helm)
