"""Custom resources whose CRD no step provides by the time they are applied."""

from __future__ import annotations

from eidos_cli.bundle.check.objects import BUILTIN_GROUPS, Rendered, crds_by_kind
from eidos_cli.bundle.check.report import MISSING_CRD, Finding


def missing_crds(objects: list[Rendered], components: list[str]) -> list[Finding]:
    """A custom resource needs its CRD from the same or an earlier step, serving its version.

    The same step is allowed: Helm installs a chart's ``crds/`` before its templates, and extra
    manifests are applied after the chart. ``components`` are the enabled steps in order.
    """
    crds = crds_by_kind(objects)
    findings = []
    for item in objects:
        if item.group in BUILTIN_GROUPS or not item.kind:
            continue
        info = crds.get((item.group, item.kind))
        if info is None:
            message = f"no step provides the CRD for {item.kind}.{item.group}"
        elif info.step > item.step:
            message = (
                f"the CRD for {item.kind}.{item.group} comes from {info.component!r}, "
                f"which installs after {item.component!r}"
            )
        elif item.version not in info.versions:
            served = ", ".join(sorted(info.versions)) or "none"
            message = f"{item.obj.get('apiVersion')} is not served by the CRD from {info.component!r} (serves {served})"
        else:
            continue
        findings.append(Finding(item.component, item.source, item.label(), MISSING_CRD, message))
    return findings
