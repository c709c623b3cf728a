"""What ``bundle check`` found: findings by component, file and key; unchecked components."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from eidos_core import yaml

# Finding kinds, one per check (the `check` column).
UNKNOWN_KEY = "unknown-key"
MISSING_CRD = "missing-crd"
NAMESPACE = "namespace"
REFERENCE = "reference"
SCHEMA = "schema"
RENDER = "render"
ORDER = "order"
CHART = "chart"
MISSING_FILE = "missing-file"


@dataclass(frozen=True, order=True)
class Finding:
    component: str
    file: str  # bundle-relative values file or manifest, or the chart template that rendered the object
    key: str  # a values path (driver.version) or an object (ConfigMap/gpu-operator/name)
    check: str
    message: str


@dataclass(frozen=True, order=True)
class Unchecked:
    component: str
    reason: str


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def exit_code(self, *, strict: bool) -> int:
        """0 clean, 7 with findings (or, with --strict, with unchecked components)."""
        return 7 if self.findings or (strict and self.unchecked) else 0

    def summary(self) -> str:
        unchecked = "; ".join(f"{u.component}: {u.reason}" for u in self.unchecked)
        return (
            f"{len(self.checked)} component(s) checked, {len(self.unchecked)} unchecked"
            + (f" ({unchecked})" if unchecked else "")
            + (f", {len(self.disabled)} disabled" if self.disabled else "")
            + f", {len(self.findings)} finding(s)"
        )

    def document(self) -> dict[str, Any]:
        return {
            "checked": list(self.checked),
            "unchecked": [asdict(u) for u in self.unchecked],
            "disabled": list(self.disabled),
            "findings": [asdict(f) for f in sorted(self.findings, key=_order)],
            "summary": self.summary(),
        }


def _order(f: Finding) -> tuple[str, str, str, str, str]:
    return (f.component, f.file, f.check, f.key, f.message)


def table(report: Report) -> str:
    """Aligned columns COMPONENT FILE KEY CHECK FINDING, then the summary line."""
    rows = [("COMPONENT", "FILE", "KEY", "CHECK", "FINDING")]
    rows += [(f.component, f.file, f.key, f.check, f.message) for f in sorted(report.findings, key=_order)]
    rows += [(u.component, "-", "-", "unchecked", u.reason) for u in report.unchecked]
    lines = []
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.document(), indent=2) + "\n"
    if fmt == "yaml":
        return yaml.dump(report.document())
    return table(report)
