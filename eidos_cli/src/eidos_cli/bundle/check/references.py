"""ConfigMaps, Secrets and Services named in values that nothing renders.

Two sources of references, both read from the values the bundle sets (a chart's own defaults
point at what the chart renders itself):

* :data:`RULES`, a table of (chart, values path, kind, form) for references whose meaning is
  documented by the chart: a ``name`` in the step's namespace, or a ``url`` whose host is a
  cluster Service (``http://<svc>.<ns>.svc[.cluster.local][:port]``, or ``<svc>`` alone for the
  step's namespace);
* generic keys whose name says what they point at (:data:`GENERIC_KEYS`, e.g. ``configMapName``,
  ``secretName``, ``existingSecret``) with a non-empty string value, anywhere in the values.

The object must be rendered, in that namespace, by the same or an earlier step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eidos_cli.bundle.check.objects import Rendered
from eidos_cli.bundle.check.report import REFERENCE, Finding
from eidos_cli.bundle.check.values_keys import key_path


@dataclass(frozen=True)
class Rule:
    chart: str
    path: str
    kind: str
    form: str = "name"  # "name": an object name in the step's namespace; "url": a Service URL


RULES: tuple[Rule, ...] = (
    Rule("gpu-operator", "driver.kernelModuleConfig.name", "ConfigMap"),
    Rule("gpu-operator", "driver.certConfig.name", "ConfigMap"),
    Rule("gpu-operator", "driver.repoConfig.configMapName", "ConfigMap"),
    Rule("gpu-operator", "driver.licensingConfig.configMapName", "ConfigMap"),
    Rule("gpu-operator", "driver.licensingConfig.secretName", "Secret"),
    Rule("gpu-operator", "driver.secretEnv", "Secret"),
    Rule("gpu-operator", "dcgmExporter.config.name", "ConfigMap"),
    Rule("gpu-operator", "devicePlugin.config.name", "ConfigMap"),
    Rule("gpu-operator", "migManager.config.name", "ConfigMap"),
    Rule("gpu-operator", "migManager.gpuClientsConfig.name", "ConfigMap"),
    Rule("gpu-operator", "vgpuDeviceManager.config.name", "ConfigMap"),
    Rule("prometheus-adapter", "prometheus.url", "Service", "url"),
)

GENERIC_KEYS: Mapping[str, str] = {
    "configMapName": "ConfigMap",
    "existingConfigMap": "ConfigMap",
    "secretName": "Secret",
    "existingSecret": "Secret",
}

_SVC_HOST = re.compile(
    r"(?P<svc>[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.svc(\.cluster\.local)?)?)?"
)


@dataclass(frozen=True)
class StepValues:
    step: int
    component: str
    chart: str
    namespace: str
    file: str
    values: Mapping[str, Any]


def _get(values: Mapping[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def service_target(url: str, namespace: str) -> tuple[str, str] | None:
    """(service, namespace) a cluster-internal URL points at; None for anything else."""
    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    match = _SVC_HOST.fullmatch(host)
    if not match or ("." in host and not match.group("ns")):
        return None
    return match.group("svc"), match.group("ns") or namespace


def _generic(values: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, str, str]]:
    for k, v in values.items():
        path = (*prefix, str(k))
        if isinstance(v, Mapping):
            yield from _generic(v, path)
        elif str(k) in GENERIC_KEYS and isinstance(v, str) and v.strip():
            yield key_path(path), GENERIC_KEYS[str(k)], v.strip()


def dangling_references(steps: list[StepValues], objects: list[Rendered]) -> list[Finding]:
    have: dict[tuple[str, str, str], int] = {}
    for item in objects:
        key = (item.kind, item.namespace, item.name)
        have[key] = min(have.get(key, item.step), item.step)
    findings = []
    for s in steps:
        refs: dict[str, tuple[str, str, str]] = {}  # values path → (kind, namespace, name)
        for rule in RULES:
            if rule.chart != s.chart:
                continue
            value = _get(s.values, rule.path)
            if not isinstance(value, str) or not value.strip():
                continue
            if rule.form == "url":
                target = service_target(value.strip(), s.namespace)
                if target is not None:
                    refs[rule.path] = (rule.kind, target[1], target[0])
            else:
                refs[rule.path] = (rule.kind, s.namespace, value.strip())
        for path, kind, name in _generic(s.values):
            refs.setdefault(path, (kind, s.namespace, name))
        for path, (kind, ns, name) in sorted(refs.items()):
            first = have.get((kind, ns, name))
            if first is not None and first <= s.step:
                continue
            message = f"{kind} {ns}/{name} is rendered by no step" + ("" if first is None else " before this one")
            findings.append(Finding(s.component, s.file, path, REFERENCE, message))
    return findings
