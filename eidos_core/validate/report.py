"""Validation results and the ``ValidationResult`` report document (cli-bundle.md §10.6–10.7).

Each constraint ends ``passed``, ``failed`` or ``skipped``; the run is ``fail`` if any failed,
else ``partial`` if any was skipped, else ``pass`` (also with no constraints at all). The
document's field order is part of the contract, so it is built here in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from eidos_core import API_VERSION

REPORT_KIND = "ValidationResult"


class ResultStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class OverallStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    PARTIAL = "partial"


@dataclass(frozen=True, slots=True)
class ConstraintResult:
    """``expected`` is the constraint value as written; ``actual`` is ``""`` when not found."""

    name: str
    expected: str
    actual: str
    status: ResultStatus
    message: str = ""


@dataclass(frozen=True, slots=True)
class Summary:
    passed: int
    failed: int
    skipped: int
    total: int
    status: OverallStatus
    duration_ns: int = 0


@dataclass(frozen=True, slots=True)
class ValidationReport:
    recipe_source: str
    snapshot_source: str
    summary: Summary
    results: tuple[ConstraintResult, ...]
    timestamp: datetime
    version: str = ""


def summarize(results: Iterable[ConstraintResult], *, duration_ns: int = 0) -> Summary:
    items = tuple(results)
    counts = {status: sum(1 for r in items if r.status is status) for status in ResultStatus}
    if counts[ResultStatus.FAILED]:
        overall = OverallStatus.FAIL
    elif counts[ResultStatus.SKIPPED]:
        overall = OverallStatus.PARTIAL
    else:
        overall = OverallStatus.PASS
    return Summary(
        passed=counts[ResultStatus.PASSED],
        failed=counts[ResultStatus.FAILED],
        skipped=counts[ResultStatus.SKIPPED],
        total=len(items),
        status=overall,
        duration_ns=duration_ns,
    )


def build_report(
    results: Iterable[ConstraintResult],
    *,
    recipe_source: str,
    snapshot_source: str,
    duration_ns: int = 0,
    version: str = "",
    timestamp: datetime | None = None,
) -> ValidationReport:
    items = tuple(results)
    return ValidationReport(
        recipe_source=recipe_source,
        snapshot_source=snapshot_source,
        summary=summarize(items, duration_ns=duration_ns),
        results=items,
        timestamp=timestamp or datetime.now(UTC),
        version=version,
    )


def _fraction(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    tail = str(frac).rjust(digits, "0").rstrip("0")
    return f"{whole}.{tail}" if tail else str(whole)


def format_duration(ns: int) -> str:
    """Go's ``time.Duration`` text (``0s``, ``850ns``, ``41.2µs``, ``1.5ms``, ``1m30s``), as the reference prints."""
    if ns == 0:
        return "0s"
    sign, u = ("-" if ns < 0 else ""), abs(ns)
    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{_fraction(u, 3)}µs"
    if u < 1_000_000_000:
        return f"{sign}{_fraction(u, 6)}ms"
    minutes, rest = divmod(u, 60_000_000_000)
    seconds = f"{_fraction(rest, 9)}s"
    if not minutes:
        return sign + seconds
    hours, minutes = divmod(minutes, 60)
    return sign + (f"{hours}h" if hours else "") + f"{minutes}m{seconds}"


def _timestamp(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def result_to_dict(result: ConstraintResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": result.name,
        "expected": result.expected,
        "actual": result.actual,
        "status": str(result.status),
    }
    if result.message:
        out["message"] = result.message
    return out


def report_to_document(report: ValidationReport, *, numeric_duration: bool = False) -> dict[str, Any]:
    """The report as a plain document; ``numeric_duration`` gives integer nanoseconds (the JSON form)."""
    metadata: dict[str, Any] = {"timestamp": _timestamp(report.timestamp)}
    if report.version:
        metadata["version"] = report.version
    s = report.summary
    return {
        "kind": REPORT_KIND,
        "apiVersion": API_VERSION,
        "metadata": metadata,
        "recipeSource": report.recipe_source,
        "snapshotSource": report.snapshot_source,
        "summary": {
            "passed": s.passed,
            "failed": s.failed,
            "skipped": s.skipped,
            "total": s.total,
            "status": str(s.status),
            "duration": s.duration_ns if numeric_duration else format_duration(s.duration_ns),
        },
        "results": [result_to_dict(r) for r in report.results],
    }
