"""``bundle check`` from a bundle directory to a :class:`Report`: the I/O around the checks."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eidos_cli.bundle.check import charts
from eidos_cli.bundle.check.cache import CheckCache, RenderInputs, file_digest
from eidos_cli.bundle.check.crds import missing_crds
from eidos_cli.bundle.check.installplan import Step, load_plan, order_findings
from eidos_cli.bundle.check.namespaces import missing_namespaces
from eidos_cli.bundle.check.objects import CrdInfo, Rendered, crds_by_kind
from eidos_cli.bundle.check.references import StepValues, dangling_references
from eidos_cli.bundle.check.report import CHART, MISSING_FILE, RENDER, UNKNOWN_KEY, Finding, Report, Unchecked
from eidos_cli.bundle.check.schema import schema_findings
from eidos_cli.bundle.check.values_keys import unknown_keys
from eidos_cli.bundle.plan import PLAN_FILE
from eidos_core import yaml
from eidos_core.errors import EidosError, InvalidRequestError

log = logging.getLogger("eidos_cli.bundle.check")


@dataclass(frozen=True)
class CheckOptions:
    charts: str | None = None
    kubernetes_version: str = "1.34.0"
    cache: CheckCache | None = None  # off by default: see :mod:`.cache`


def _load_values(path: Path, source: str) -> Mapping[str, Any]:
    doc = yaml.load(path.read_bytes(), source=source)
    return doc if isinstance(doc, Mapping) else {}


def check_bundle(bundle: Path, options: CheckOptions) -> Report:
    if not bundle.is_dir():
        raise InvalidRequestError(f"{bundle}: not a directory")
    steps = load_plan(bundle)
    helm = charts.find_helm()
    report = Report()
    report.findings += order_findings(steps)
    enabled = [s for s in steps if s.enabled]
    report.disabled = [s.component for s in steps if not s.enabled]
    objects: list[Rendered] = []
    step_values: list[StepValues] = []
    with tempfile.TemporaryDirectory(prefix="eidos-bundle-check-") as tmp:
        finder = charts.ChartFinder(bundle=bundle, charts=options.charts, helm=helm, download_dir=Path(tmp))
        for index, step in enumerate(enabled):
            earlier_crds = list(crds_by_kind(objects).values())
            objects += _check_step(bundle, index, step, finder, helm, options, report, step_values, earlier_crds)
    report.findings += missing_crds(objects, [s.component for s in enabled])
    report.findings += missing_namespaces(objects, [(s.component, s.namespace) for s in enabled])
    report.findings += dangling_references(step_values, objects)
    report.findings += schema_findings(objects, crds_by_kind(objects), options.kubernetes_version, options.cache)
    return report


def _check_step(
    bundle: Path,
    index: int,
    step: Step,
    finder: charts.ChartFinder,
    helm: str,
    options: CheckOptions,
    report: Report,
    step_values: list[StepValues],
    earlier_crds: list[CrdInfo],
) -> list[Rendered]:
    """Render one step (chart and extra manifests); values-key findings go into the report."""
    objects: list[Rendered] = []
    # What the cluster serves by this step: the CRDs of the steps before it (charts gate custom
    # resources on .Capabilities.APIVersions, e.g. ServiceMonitors on monitoring.coreos.com/v1).
    api_versions = tuple(
        sorted({f"{c.group}/{v}{suffix}" for c in earlier_crds for v in c.versions for suffix in ("", f"/{c.kind}")})
    )
    values_path = bundle / step.values if step.values else None
    values: Mapping[str, Any] = {}
    if values_path is not None:
        if not values_path.is_file():
            missing = f"the values file {step.values} named in {PLAN_FILE} is missing"
            report.findings.append(Finding(step.component, step.values or "", "values", MISSING_FILE, missing))
            values_path = None
        else:
            try:
                values = _load_values(values_path, step.values or "")
            except EidosError as exc:
                report.findings.append(Finding(step.component, step.values or "", "-", RENDER, exc.message))
                values_path = None
    if step.kustomize is not None:
        report.unchecked.append(Unchecked(step.component, "Kustomize steps are not checked (only Helm charts)"))
        return []
    if step.chart is not None:
        try:
            package = finder.find(step.chart)
        except charts.ChartUnavailable as exc:
            report.unchecked.append(Unchecked(step.component, str(exc)))
            return []
        except EidosError as exc:
            report.unchecked.append(Unchecked(step.component, f"unreadable chart: {exc.message}"))
            return []
        log.debug("chart found", extra={"component": step.component, "package": str(package)})
        inputs = None
        if options.cache is not None:
            inputs = RenderInputs(
                chart=step.chart.name,
                version=step.chart.version,
                package=file_digest(package),
                release=step.component,
                namespace=step.namespace,
                values=values_path.read_bytes() if values_path is not None else None,
                kube_version=options.kubernetes_version,
                api_versions=charts.helm_api_versions(api_versions),
                helm=charts.helm_version(helm),
            )
        rendered = _render_step(step, package, values, values_path, helm, options, api_versions, report, inputs)
        if rendered is None:
            return []
        unknown, documents, failed = rendered
        step_values.append(
            StepValues(index, step.component, step.chart.name, step.namespace, step.values or "", values)
        )
        for key_path, message in unknown:
            report.findings.append(Finding(step.component, step.values or "", key_path, UNKNOWN_KEY, message))
        report.findings += failed
        objects += [Rendered(index, step.component, source, obj, step.namespace) for source, obj in documents]
    for i, manifest in enumerate(step.manifests):
        path = bundle / manifest
        if not path.is_file():
            missing = f"the extra manifest {manifest} named in {PLAN_FILE} is missing"
            report.findings.append(Finding(step.component, manifest, f"manifests[{i}]", MISSING_FILE, missing))
            continue
        try:
            for _source, obj in charts.split_documents(path.read_text(encoding="utf-8"), manifest):
                objects.append(Rendered(index, step.component, manifest, obj, step.namespace))
        except (EidosError, UnicodeDecodeError) as exc:
            message = exc.message if isinstance(exc, EidosError) else str(exc)
            report.findings.append(Finding(step.component, manifest, f"manifests[{i}]", RENDER, message))
    report.checked.append(step.component)
    return objects


# unknown keys (path, message); rendered documents (source, object); a failed render's finding
_Rendered = tuple[list[tuple[str, str]], list[tuple[str, Any]], list[Finding]]


def _valid_render(value: Any) -> bool:
    """A cache entry's shape: {"unknown": [[path, message]...], "documents": [[source, object]...]}."""
    if not isinstance(value, dict):
        return False
    unknown, documents = value.get("unknown"), value.get("documents")
    return (
        isinstance(unknown, list)
        and isinstance(documents, list)
        and all(isinstance(u, list) and len(u) == 2 and all(isinstance(x, str) for x in u) for u in unknown)
        and all(
            isinstance(d, list) and len(d) == 2 and isinstance(d[0], str) and isinstance(d[1], dict) for d in documents
        )
    )


def _render_step(
    step: Step,
    package: Path,
    values: Mapping[str, Any],
    values_path: Path | None,
    helm: str,
    options: CheckOptions,
    api_versions: tuple[str, ...],
    report: Report,
    inputs: RenderInputs | None,
) -> _Rendered | None:
    """The step's unknown keys and rendered documents, from the cache when ``inputs`` were seen.

    None: the chart could not be read (the component is reported unchecked). A render that
    fails is a finding (returned, not cached) and yields the unknown keys with no documents.
    """
    assert step.chart is not None
    key = inputs.key() if inputs is not None else ""
    if options.cache is not None:
        hit = options.cache.get("render", key, _valid_render)
        if hit is not None:
            return [(u[0], u[1]) for u in hit["unknown"]], [(d[0], d[1]) for d in hit["documents"]], []
    try:
        chart_values = charts.read_chart(package)
    except EidosError as exc:
        report.unchecked.append(Unchecked(step.component, f"unreadable chart: {exc.message}"))
        return None
    unknown = [(k.path, k.message) for k in unknown_keys(values, chart_values)]
    try:
        text = charts.helm_template(
            helm, package, step.component, step.namespace, values_path, options.kubernetes_version, api_versions
        )
        documents = charts.split_documents(text, step.chart.name)
    except charts.RenderError as exc:
        return unknown, [], [Finding(step.component, step.values or "", "-", RENDER, f"helm template: {exc}")]
    except EidosError as exc:
        return unknown, [], [Finding(step.component, step.values or "", "-", CHART, exc.message)]
    if options.cache is not None:
        options.cache.put(
            "render", key, {"unknown": [list(u) for u in unknown], "documents": [list(d) for d in documents]}
        )
    return unknown, documents, []
