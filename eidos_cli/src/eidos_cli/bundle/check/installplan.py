"""The bundle's ``install-plan.yaml``: read with the project's one loader, shape checked.

Any shape problem is an :class:`InvalidRequestError` (exit 2) naming the field, e.g.
``install-plan.yaml: steps[2].chart.version: must be a non-empty string``: without a plan
there is nothing to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from eidos_cli.bundle.check.report import ORDER, Finding
from eidos_cli.bundle.plan import PLAN_FILE
from eidos_core import yaml
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import is_dns_label

API_VERSION = "eidos.nvidia.com/v1alpha1"
KIND = "InstallPlan"
_STEP_FIELDS = frozenset(
    {"component", "namespace", "enabled", "chart", "kustomize", "values", "manifests", "dependsOn"}
)


@dataclass(frozen=True)
class HelmChart:
    repository: str
    name: str
    version: str


@dataclass(frozen=True)
class Step:
    component: str
    namespace: str
    enabled: bool = True
    chart: HelmChart | None = None
    kustomize: Mapping[str, Any] | None = None
    values: str | None = None  # bundle-relative
    manifests: tuple[str, ...] = ()  # bundle-relative, plain YAML, applied after the chart
    depends_on: tuple[str, ...] = ()


class PlanError(InvalidRequestError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{PLAN_FILE}: {where}: {message}" if where else f"{PLAN_FILE}: {message}")


def _string(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise PlanError(where, "must be a non-empty string")
    return value.strip()


def _relative(value: Any, where: str) -> str:
    text = _string(value, where)
    assert text is not None
    path = PurePosixPath(text)
    # A plan that reaches outside its bundle would make the check read files the bundle does not ship.
    if path.is_absolute() or ".." in path.parts or "\\" in text:
        raise PlanError(where, f"{text!r} must be a path inside the bundle (relative, no '..')")
    return text


def _chart(value: Any, where: str) -> HelmChart:
    if not isinstance(value, Mapping):
        raise PlanError(where, "must be a mapping with repository, name and version")
    fields = {k: _string(value.get(k), f"{where}.{k}") for k in ("repository", "name", "version")}
    return HelmChart(**{k: v or "" for k, v in fields.items()})


def _step(value: Any, where: str, seen: Mapping[str, int]) -> Step:
    if not isinstance(value, Mapping):
        raise PlanError(where, "must be a mapping")
    unknown = sorted(str(k) for k in value if k not in _STEP_FIELDS)
    if unknown:
        raise PlanError(f"{where}.{unknown[0]}", f"unknown field (known: {', '.join(sorted(_STEP_FIELDS))})")
    component = _string(value.get("component"), f"{where}.component") or ""
    if component in seen:
        raise PlanError(f"{where}.component", f"{component!r} is already step {seen[component]}")
    namespace = _string(value.get("namespace"), f"{where}.namespace") or ""
    if not is_dns_label(namespace):
        raise PlanError(f"{where}.namespace", f"{namespace!r} is not a valid namespace name (RFC 1123 label)")
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PlanError(f"{where}.enabled", "must be true or false")
    chart = _chart(value["chart"], f"{where}.chart") if value.get("chart") is not None else None
    kustomize = value.get("kustomize")
    if kustomize is not None and not isinstance(kustomize, Mapping):
        raise PlanError(f"{where}.kustomize", "must be a mapping")
    if chart and kustomize is not None:
        raise PlanError(where, "has both chart and kustomize; a step installs one of them")
    values = _relative(value["values"], f"{where}.values") if value.get("values") is not None else None
    lists: dict[str, tuple[str, ...]] = {}
    for name in ("manifests", "dependsOn"):
        items = value.get(name) or []
        if not isinstance(items, list):
            raise PlanError(f"{where}.{name}", "must be a list")
        check = _relative if name == "manifests" else _string
        lists[name] = tuple(str(check(item, f"{where}.{name}[{i}]")) for i, item in enumerate(items))
    return Step(
        component=component,
        namespace=namespace,
        enabled=enabled,
        chart=chart,
        kustomize=kustomize,
        values=values,
        manifests=lists["manifests"],
        depends_on=lists["dependsOn"],
    )


def parse_plan(doc: Any) -> list[Step]:
    """The plan's steps in install order; a :class:`PlanError` names the first bad field."""
    if not isinstance(doc, Mapping):
        raise PlanError("", "must be a mapping with apiVersion, kind and steps")
    if doc.get("apiVersion") != API_VERSION:
        raise PlanError("apiVersion", f"must be {API_VERSION} (got {doc.get('apiVersion')!r})")
    if doc.get("kind") != KIND:
        raise PlanError("kind", f"must be {KIND} (got {doc.get('kind')!r})")
    raw = doc.get("steps")
    if not isinstance(raw, list):
        raise PlanError("steps", "must be a list of steps")
    steps: list[Step] = []
    index: dict[str, int] = {}
    for i, item in enumerate(raw):
        step = _step(item, f"steps[{i}]", index)
        index[step.component] = i
        steps.append(step)
    for i, step in enumerate(steps):
        for j, dep in enumerate(step.depends_on):
            if dep not in index:
                raise PlanError(f"steps[{i}].dependsOn[{j}]", f"{dep!r} is not a component of this plan")
    return steps


def load_plan(bundle: Path) -> list[Step]:
    path = bundle / PLAN_FILE
    if not path.is_file():
        raise InvalidRequestError(f"{bundle}: no {PLAN_FILE}: not a bundle this version of eidos-cli can check")
    return parse_plan(yaml.load(path.read_bytes(), source=str(path)))


def order_findings(steps: list[Step]) -> list[Finding]:
    """dependsOn that the install order does not honour: a dependency later in the plan, or disabled."""
    position = {s.component: i for i, s in enumerate(steps)}
    enabled = {s.component for s in steps if s.enabled}
    out = []
    for i, step in enumerate(steps):
        if not step.enabled:
            continue
        for j, dep in enumerate(step.depends_on):
            if dep not in enabled:
                message = f"depends on {dep!r}, which is disabled"
            elif position[dep] > i:
                message = f"depends on {dep!r}, which installs after it"
            else:
                continue
            out.append(Finding(step.component, PLAN_FILE, f"steps[{i}].dependsOn[{j}]", ORDER, message))
    return out
