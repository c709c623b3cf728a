"""Validation results and the ``ValidationResult`` report document.

Each constraint ends ``passed``, ``failed`` or ``skipped``; the run is ``fail`` if any failed,
else ``partial`` if any was skipped, else ``pass`` (also with no constraints at all). The
document's field order is part of the contract, so it is built here in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from eidos_core.codec import Choice, Emit, Group, Header, Integer, ListOf, Nested, Text, Timestamp, encode, wire

REPORT_KIND = "ValidationResult"


class ResultStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class OverallStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    PARTIAL = "partial"


ALWAYS = Emit.ALWAYS  # every field of a report is written, empty or not (but a message)


@dataclass(frozen=True, slots=True)
class ConstraintResult:
    """``expected`` is the constraint value as written; ``actual`` is ``""`` when not found."""

    name: str = wire("name", Text(line=False), emit=ALWAYS)
    expected: str = wire("expected", Text(line=False), emit=ALWAYS)
    actual: str = wire("actual", Text(line=False), emit=ALWAYS)
    status: ResultStatus = wire("status", Choice(ResultStatus), emit=ALWAYS)
    message: str = wire("message", Text(line=False))


@dataclass(frozen=True, slots=True)
class Summary:
    passed: int = wire("passed", Integer(), emit=ALWAYS)
    failed: int = wire("failed", Integer(), emit=ALWAYS)
    skipped: int = wire("skipped", Integer(), emit=ALWAYS)
    total: int = wire("total", Integer(), emit=ALWAYS)
    status: OverallStatus = wire("status", Choice(OverallStatus), emit=ALWAYS)
    # Written as Go's duration text, or integer nanoseconds in JSON (report_to_document).
    duration_ns: int = wire("duration", Integer(), emit=ALWAYS)


@dataclass(frozen=True, slots=True)
class ValidationReport:
    HEADER: ClassVar[Header] = Header(REPORT_KIND, strict=False)
    GROUPS: ClassVar[Mapping[str, Group]] = {"metadata": Group()}

    timestamp: datetime = wire("timestamp", Timestamp(), group="metadata", emit=Emit.ALWAYS)
    version: str = wire("version", group="metadata")
    recipe_source: str = wire("recipeSource", Text(line=False), emit=ALWAYS)
    snapshot_source: str = wire("snapshotSource", Text(line=False), emit=ALWAYS)
    summary: Summary = wire("summary", Nested(Summary), emit=ALWAYS)
    results: tuple[ConstraintResult, ...] = wire("results", ListOf(Nested(ConstraintResult)), emit=ALWAYS)


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


def report_to_document(report: ValidationReport, *, numeric_duration: bool = False) -> dict[str, Any]:
    """The report as a plain document; ``numeric_duration`` gives integer nanoseconds (the JSON form),
    else Go's duration text."""
    doc = encode(report)
    if not numeric_duration:
        doc["summary"]["duration"] = format_duration(report.summary.duration_ns)
    return doc
