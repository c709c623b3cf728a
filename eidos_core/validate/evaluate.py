"""Evaluating constraints against a snapshot.

One constraint goes through four stages: its name as a path, the snapshot value at that path
(Go-``%v`` text, trimmed), its value as an expression, the comparison. Where it stops decides
the outcome: :func:`check_constraint` turns that into a report status (a constraint that
cannot be checked is *skipped*, an unparsable version *fails*), :func:`constraint_holds`
into an error for callers that want one (recipe snapshot mode).
:func:`check_excluded_constraints` checks the constraints of accelerator overlays snapshot mode
left out of a recipe, so ``validate`` keeps failing such a recipe until the cluster meets them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

from eidos_core.errors import EidosError, InvalidRequestError, NotFoundError
from eidos_core.recipe.model import Constraint
from eidos_core.snapshot.model import Snapshot, reading_text
from eidos_core.validate.constraints import ExcludedConstraint
from eidos_core.validate.expression import Expression, Operator, parse_expression
from eidos_core.validate.path import ConstraintPath, parse_path
from eidos_core.validate.report import ConstraintResult, ResultStatus
from eidos_core.validate.version import compare_versions, parse_version, versions_equal


def evaluate_expression(expr: Expression, actual: str) -> bool:
    """Whether ``actual`` satisfies ``expr``; an unparsable version is an InvalidRequestError."""
    op = expr.operator
    if op is Operator.EXACT:
        return actual == expr.value
    if op in (Operator.EQ, Operator.NE):
        same = actual == expr.value
        if expr.version_like:
            # Unless both sides parse as versions, plain string (in)equality decides.
            with contextlib.suppress(InvalidRequestError):
                same = versions_equal(parse_version(actual), parse_version(expr.value))
        return same if op is Operator.EQ else not same
    try:
        expected = parse_version(expr.value)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"cannot parse expected version: {exc.message}") from None
    try:
        got = parse_version(actual)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"cannot parse actual version: {exc.message}") from None
    order = compare_versions(got, expected)
    if op is Operator.GE:
        return order >= 0
    if op is Operator.LE:
        return order <= 0
    if op is Operator.GT:
        return order > 0
    return order < 0


def lookup_text(snapshot: Snapshot, path: ConstraintPath) -> str:
    """The reading at ``path`` as trimmed text; NotFoundError says which part is missing."""
    value = snapshot.lookup(path.type, path.subtype, path.key)
    if value is not None:
        return reading_text(value).strip()
    measurement = snapshot.measurement(path.type)
    if measurement is None:
        raise NotFoundError(f"measurement type {path.type!r} not found in snapshot")
    # Subtype names may hold dots themselves (``containerd.service``): try the snapshot's
    # other subtypes the rest of the name starts with, longest first.
    rest = f"{path.subtype}.{path.key}"
    for sub in sorted(measurement.subtypes, key=lambda s: len(s.name), reverse=True):
        if sub.name != path.subtype and rest.startswith(sub.name + "."):
            found = sub.get(rest[len(sub.name) + 1 :])
            if found is not None:
                return reading_text(found).strip()
    if measurement.subtype(path.subtype) is None:
        raise NotFoundError(f"subtype {path.subtype!r} not found in measurement {path.type!r}")
    raise NotFoundError(f"key {path.key!r} not found in {path.type}/{path.subtype}")


class Stage(Enum):
    """Where evaluating one constraint stopped."""

    PATH = "invalid constraint path"
    LOOKUP = "value not found in snapshot"
    EXPRESSION = "invalid constraint expression"
    EVALUATION = "evaluation failed"
    DONE = ""


@dataclass(frozen=True, slots=True)
class _Outcome:
    stage: Stage
    actual: str = ""
    error: str = ""
    holds: bool = False

    @property
    def message(self) -> str:
        return f"{self.stage.value}: {self.error}"


def _run(constraint: Constraint, snapshot: Snapshot) -> _Outcome:
    try:
        path = parse_path(constraint.name)
    except InvalidRequestError as exc:
        return _Outcome(Stage.PATH, error=exc.message)
    try:
        actual = lookup_text(snapshot, path)
    except NotFoundError as exc:
        return _Outcome(Stage.LOOKUP, error=exc.message)
    try:
        expr = parse_expression(constraint.value)
    except InvalidRequestError as exc:
        return _Outcome(Stage.EXPRESSION, actual, exc.message)
    try:
        holds = evaluate_expression(expr, actual)
    except InvalidRequestError as exc:
        return _Outcome(Stage.EVALUATION, actual, exc.message)
    return _Outcome(Stage.DONE, actual, holds=holds)


_SKIPPED_AT = (Stage.PATH, Stage.LOOKUP, Stage.EXPRESSION)


def check_constraint(constraint: Constraint, snapshot: Snapshot) -> ConstraintResult:
    outcome = _run(constraint, snapshot)

    def result(status: ResultStatus, message: str = "") -> ConstraintResult:
        return ConstraintResult(constraint.name, constraint.value, outcome.actual, status, message)

    if outcome.stage in _SKIPPED_AT:
        return result(ResultStatus.SKIPPED, outcome.message)
    if outcome.stage is Stage.EVALUATION:
        return result(ResultStatus.FAILED, outcome.message)
    if not outcome.holds:
        return result(ResultStatus.FAILED, f"expected {constraint.value}, got {outcome.actual}")
    return result(ResultStatus.PASSED)


def validate_constraints(constraints: Iterable[Constraint], snapshot: Snapshot) -> tuple[ConstraintResult, ...]:
    """One result per constraint, in the given order; duplicates are checked separately."""
    return tuple(check_constraint(c, snapshot) for c in constraints)


def excluded_prefix(overlay: str) -> str:
    """How a report marks a result that checks an overlay the recipe lacks."""
    return f"required by excluded overlay {overlay}"


def check_excluded_constraints(
    excluded: Iterable[ExcludedConstraint], recipe_constraints: Iterable[Constraint], snapshot: Snapshot
) -> tuple[ConstraintResult, ...]:
    """Results for the constraints of accelerator overlays that snapshot mode left out (issue 11).

    Such a recipe lacks what the accelerator needs, so it must not pass on a cluster that still
    fails the overlay's constraints; once the cluster meets them the results pass. As in snapshot
    mode, a constraint that cannot be checked counts against the overlay: it fails here instead
    of being skipped. One already among the recipe's constraints (same name and value) is
    reported there and not again, and a repeated one is reported once.
    """
    seen = {(c.name, c.value) for c in recipe_constraints}
    results: list[ConstraintResult] = []
    for item in excluded:
        key = (item.constraint.name, item.constraint.value)
        if key in seen:
            continue
        seen.add(key)
        result = check_constraint(item.constraint, snapshot)
        status = ResultStatus.FAILED if result.status is ResultStatus.SKIPPED else result.status
        prefix = excluded_prefix(item.overlay)
        message = f"{prefix}: {result.message}" if result.message else prefix
        results.append(replace(result, status=status, message=message))
    return tuple(results)


def constraint_holds(constraint: Constraint, snapshot: Snapshot) -> tuple[bool, str]:
    """(holds, actual) or an error: invalid path or expression → InvalidRequestError, value
    missing → NotFoundError, unparsable version → EidosError (INTERNAL), as the reference's
    primitive for recipe snapshot mode."""
    outcome = _run(constraint, snapshot)
    details = {"constraint": constraint.name, "expected": constraint.value}
    if outcome.stage in (Stage.PATH, Stage.EXPRESSION):
        raise InvalidRequestError(outcome.message, details=details)
    if outcome.stage is Stage.LOOKUP:
        raise NotFoundError(outcome.message, details=details)
    if outcome.stage is Stage.EVALUATION:
        raise EidosError(outcome.message, details={**details, "actual": outcome.actual})
    return outcome.holds, outcome.actual
