"""Constraint validation: check a recipe's ``constraints`` against a snapshot.

Pure, synchronous functions only; reading inputs and writing the report belong to the callers
(``eidos-cli validate``, recipe snapshot mode).

* :mod:`.path` — constraint names (``Type.Subtype.Key``) as paths into a snapshot
* :mod:`.expression` — a constraint value as operator + operand
* :mod:`.version` — lenient version parsing and comparison
* :mod:`.constraints` — the constraints of the accelerator overlays snapshot mode left out of
  a recipe (the recipe itself is read by :func:`eidos_core.recipe.result.recipe_from_document`)
* :mod:`.evaluate` — evaluating constraints against a snapshot
* :mod:`.report` — per-constraint results, the summary and the report document
"""

from eidos_core.validate.constraints import ExcludedConstraint, excluded_constraints
from eidos_core.validate.evaluate import (
    check_constraint,
    check_excluded_constraints,
    constraint_holds,
    evaluate_expression,
    validate_constraints,
)
from eidos_core.validate.expression import Expression, Operator, parse_expression
from eidos_core.validate.path import ConstraintPath, parse_path
from eidos_core.validate.report import (
    ConstraintResult,
    OverallStatus,
    ResultStatus,
    Summary,
    ValidationReport,
    build_report,
    report_to_document,
)
from eidos_core.validate.version import Version, compare_versions, parse_version, versions_equal

__all__ = [
    "ConstraintPath",
    "ConstraintResult",
    "ExcludedConstraint",
    "Expression",
    "Operator",
    "OverallStatus",
    "ResultStatus",
    "Summary",
    "ValidationReport",
    "Version",
    "build_report",
    "check_constraint",
    "check_excluded_constraints",
    "compare_versions",
    "constraint_holds",
    "evaluate_expression",
    "excluded_constraints",
    "parse_expression",
    "parse_path",
    "parse_version",
    "report_to_document",
    "validate_constraints",
    "versions_equal",
]
