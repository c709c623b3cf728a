"""``eidos-cli validate``: check a recipe's constraints against a snapshot and report each one.

The report is written before the verdict, so it is there even when the command exits 7
(a constraint failed and ``--fail-on-error`` is on). Skipped constraints (unknown path,
value missing from the snapshot, malformed expression) make the run ``partial``, which exits 0.

A recipe that snapshot mode wrote without an accelerator overlay (``--accept-excluded-overlays``;
its metadata lists it in ``excludedAcceleratorOverlays``) is also checked against that overlay's
constraints from ``constraintWarnings``: each is one more result, its message starting
``required by excluded overlay NAME``, failed while the cluster fails it (or it cannot be
checked) and passed once the cluster meets it. So such a recipe never validates silently.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from eidos_cli.options import add_bool, add_kubeconfig
from eidos_core import __version__
from eidos_core.errors import (
    EidosError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    TimeoutExceededError,
    UnavailableError,
    ValidationFailedError,
)
from eidos_core.io.documents import FORMATS, Format, read_document, write_document
from eidos_core.io.uri import Location, Scheme, parse_uri
from eidos_core.recipe.model import Constraint
from eidos_core.recipe.result import recipe_from_document
from eidos_core.snapshot.model import SNAPSHOT_KIND, Snapshot, snapshot_from_document
from eidos_core.validate.constraints import ExcludedConstraint, excluded_constraints
from eidos_core.validate.evaluate import check_excluded_constraints, validate_constraints
from eidos_core.validate.report import (
    OverallStatus,
    ResultStatus,
    ValidationReport,
    build_report,
    format_duration,
    report_to_document,
)
from eidos_core.yaml import plain

log = logging.getLogger("eidos_cli.validate")

DEFAULT_FORMAT: Format = "table"

EXAMPLE = """examples:
  eidos-cli validate --recipe recipe.yaml --snapshot snapshot.yaml
  eidos-cli validate -r recipe.yaml -s cm://gpu-operator/eidos-snapshot --format json -o report.json
  eidos-cli recipe --snapshot snap.yaml --intent training | eidos-cli validate -r - -s snap.yaml
  eidos-cli validate -r recipe.yaml -s snapshot.yaml --fail-on-error=false   # report only, exit 0

exit codes: 0 all constraints passed or were skipped, 7 a constraint failed (with --fail-on-error),
  2 bad input, 3 input not found, 4 forbidden, 6 source unavailable"""

# Constraint paths that name a criteria field: logged so users see what the snapshot says.
CRITERIA_PATHS = {
    "K8s.server.version": "kubernetes_version",
    "GPU.smi.gpu.model": "accelerator",
    "OS.release.ID": "os",
    "OS.release.VERSION_ID": "os_version",
}

# Error classes with a plain (message, details) constructor, most specific first; wrapping
# an input error in one of these keeps its exit code.
_WRAPPABLE: tuple[type[EidosError], ...] = (
    InvalidRequestError,
    NotFoundError,
    ForbiddenError,
    TimeoutExceededError,
    UnavailableError,
    ValidationFailedError,
    EidosError,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate",
        help="check a recipe's constraints against a snapshot",
        description=(
            "Evaluate every constraint of a recipe (Type.Subtype.Key with an optional operator "
            ">=, <=, >, <, ==, !=) against a cluster snapshot and report passed, failed and skipped ones. "
            "A recipe written without an accelerator overlay (recipe --accept-excluded-overlays) is also "
            "checked against that overlay's constraints, so it fails until the cluster meets them."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-r", "--recipe", required=True, metavar="URI",
        help="the recipe to check: a file, - for stdin, cm://namespace/name or http(s)://",
    )  # fmt: skip
    p.add_argument(
        "-s", "--snapshot", required=True, metavar="URI",
        help="the snapshot to check against: a file, - for stdin, cm://namespace/name or http(s)://",
    )  # fmt: skip
    add_bool(p, "--fail-on-error", default=True, help="exit 7 when a constraint fails")
    p.add_argument(
        "-o", "--output", default="-", metavar="URI",
        help="where to write the report: a file, - for stdout, or cm://namespace/name (default: stdout)",
    )  # fmt: skip
    p.add_argument(
        "-t", "--format", choices=FORMATS, default=DEFAULT_FORMAT, help=f"report format (default: {DEFAULT_FORMAT})"
    )
    add_kubeconfig(p)
    p.set_defaults(run=run)


def _rewrap(exc: EidosError, prefix: str, hint: str = "") -> EidosError:
    cls = next(c for c in _WRAPPABLE if isinstance(exc, c))
    return cls(f"{prefix}: {exc.message}{hint}", details=exc.details)


def _swapped(exc: EidosError, doc: Any) -> str:
    """A hint when the recipe given is a snapshot."""
    kind = plain(doc.get("kind")) if isinstance(doc, dict) else None
    if exc.details.get("field") == "kind" and kind == SNAPSHOT_KIND:
        return " (are --recipe and --snapshot swapped?)"
    return ""


def output_location(uri: str) -> Location:
    """Checked before any input is read, so a bad destination costs nothing."""
    loc = parse_uri(uri)
    if loc.scheme is Scheme.HTTP:
        raise InvalidRequestError(f"--output {uri!r}: write the report to a file, - or cm://namespace/name")
    return loc


async def _load(what: str, uri: str, kubeconfig: str | None, *, raw: bool = False) -> Any:
    try:
        return await read_document(uri, kubeconfig=kubeconfig, raw=raw)
    except EidosError as exc:
        raise _rewrap(exc, f'failed to load {what} from "{uri}"') from exc


@dataclass(frozen=True, slots=True)
class Inputs:
    constraints: tuple[Constraint, ...]
    excluded: tuple[ExcludedConstraint, ...]  # of accelerator overlays the recipe lacks
    snapshot: Snapshot


async def load_inputs(recipe_uri: str, snapshot_uri: str, *, kubeconfig: str | None = None) -> Inputs:
    """Recipe first, then snapshot, so the recipe's error is the one reported when both are bad."""
    if parse_uri(recipe_uri).scheme is Scheme.STDIO and parse_uri(snapshot_uri).scheme is Scheme.STDIO:
        raise InvalidRequestError("--recipe and --snapshot cannot both read stdin (-)")
    recipe_doc = await _load("recipe", recipe_uri, kubeconfig, raw=True)  # constraint values as written
    try:
        recipe = recipe_from_document(recipe_doc, source=recipe_uri)
    except EidosError as exc:
        raise _rewrap(exc, f'failed to load recipe from "{recipe_uri}"', _swapped(exc, recipe_doc)) from exc
    snapshot_doc = await _load("snapshot", snapshot_uri, kubeconfig)
    try:
        snapshot = snapshot_from_document(snapshot_doc, source=snapshot_uri)
    except EidosError as exc:
        raise _rewrap(exc, f'failed to load snapshot from "{snapshot_uri}"') from exc
    return Inputs(recipe.constraints, excluded_constraints(recipe), snapshot)


def report_document(report: ValidationReport, fmt: Format) -> dict[str, Any]:
    # JSON carries the duration as integer nanoseconds; YAML and tables as Go-style text.
    return report_to_document(report, numeric_duration=fmt == "json")


def _log_results(report: ValidationReport) -> None:
    detected: set[str] = set()  # a path checked twice (recipe and excluded overlay) is logged once
    for r in report.results:
        if r.status is ResultStatus.SKIPPED:
            log.warning("constraint skipped", extra={"constraint": r.name, "reason": r.message})
        attribute = CRITERIA_PATHS.get(r.name)
        if attribute and r.actual and attribute not in detected:
            detected.add(attribute)
            log.info("detected criteria", extra={attribute: r.actual})


def run(args: argparse.Namespace) -> int:
    fmt: Format = args.format
    if fmt not in FORMATS:  # argparse checks choices; this guards callers that build args by hand
        raise InvalidRequestError(f"unknown output format: {fmt!r}, valid formats are: {', '.join(FORMATS)}")
    destination = output_location(args.output)
    inputs = asyncio.run(load_inputs(args.recipe, args.snapshot, kubeconfig=args.kubeconfig))
    if inputs.excluded:
        log.warning(
            "recipe was written without accelerator overlays; checking their constraints too",
            extra={"overlays": ",".join(dict.fromkeys(e.overlay for e in inputs.excluded))},
        )

    started = time.perf_counter_ns()
    results = validate_constraints(inputs.constraints, inputs.snapshot)
    results += check_excluded_constraints(inputs.excluded, inputs.constraints, inputs.snapshot)
    report = build_report(
        results,
        recipe_source=args.recipe,
        snapshot_source=args.snapshot,
        duration_ns=time.perf_counter_ns() - started,
        version=__version__,
    )
    _log_results(report)
    asyncio.run(
        write_document(
            str(destination), report_document(report, fmt), component="validation", fmt=fmt, kubeconfig=args.kubeconfig
        )
    )
    s = report.summary
    log.info(
        "validation completed",
        extra={
            "status": str(s.status),
            "passed": s.passed,
            "failed": s.failed,
            "skipped": s.skipped,
            "duration": format_duration(s.duration_ns),
            "output": str(destination),
        },
    )
    if s.status is OverallStatus.FAIL and args.fail_on_error:
        raise ValidationFailedError(
            f"validation failed: {s.failed} constraint(s) did not pass",
            details={"failed": [r.name for r in report.results if r.status is ResultStatus.FAILED]},
        )
    return 0
