"""Constraint validation as pure logic: names, expressions, versions,
one constraint's status, the summary and the report document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eidos_core.errors import EidosError, InvalidRequestError, NotFoundError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.model import Constraint, RecipeStore
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.snapshot.model import Snapshot, snapshot_from_document
from eidos_core.validate import (
    ConstraintPath,
    ConstraintResult,
    ExcludedConstraint,
    Operator,
    OverallStatus,
    ResultStatus,
    build_report,
    check_constraint,
    check_excluded_constraints,
    compare_versions,
    constraint_holds,
    evaluate_expression,
    excluded_constraints,
    parse_expression,
    parse_path,
    parse_version,
    report_to_document,
    validate_constraints,
    versions_equal,
)
from eidos_core.validate.report import ValidationReport, format_duration, summarize

SNAPSHOT_DOC: dict[str, Any] = {
    "kind": "Snapshot",
    "apiVersion": "eidos.nvidia.com/v1alpha1",
    "measurements": [
        {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": "v1.30.14-eks-3025e55"}}]},
        {
            "type": "OS",
            "subtypes": [
                {"subtype": "release", "data": {"ID": " ubuntu\n", "VERSION_ID": "24.04"}},
                {"subtype": "sysctl", "data": {"/proc/sys/kernel/osrelease": "6.8.0-1028-aws"}},
                {"subtype": "grub", "data": {"hugepages": 8, "iommu": True, "ratio": 24.04}},
            ],
        },
        {
            "type": "SystemD",
            "subtypes": [{"subtype": "containerd.service", "data": {"service.ActiveState": "active"}}],
        },
        # A second K8s measurement: lookups use the first one only.
        {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": "v9.9.9"}}]},
    ],
}


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return snapshot_from_document(SNAPSHOT_DOC)


# ---------------------------------------------------------------- constraint names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("K8s.server.version", ("K8s", "server", "version")),
        ("OS.release.VERSION_ID", ("OS", "release", "VERSION_ID")),
        ("OS.sysctl./proc/sys/kernel/osrelease", ("OS", "sysctl", "/proc/sys/kernel/osrelease")),
        ("GPU.smi.gpu.model", ("GPU", "smi", "gpu.model")),
        ("SystemD.containerd.service.ActiveState", ("SystemD", "containerd", "service.ActiveState")),
    ],
)
def test_path_splits_on_the_first_two_dots(name: str, expected: tuple[str, str, str]) -> None:
    path = parse_path(name)
    assert (path.type, path.subtype, path.key) == expected
    assert str(path) == name


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("K8s.server", "has 2 part(s)"),
        ("version", "has 1 part(s)"),
        ("", "has 1 part(s)"),
        ("k8s.server.version", "unknown measurement type 'k8s'"),
        ("Kernel.a.b", "unknown measurement type 'Kernel'"),
        ("K8s..version", "empty subtype"),
        ("K8s.server.", "empty key"),
    ],
)
def test_invalid_paths(name: str, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_path(name)
    assert fragment in info.value.message
    assert info.value.exit_code == 2


# ---------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("text", "operator", "value", "version_like"),
    [
        (">= 1.30", Operator.GE, "1.30", True),
        (">=6.8", Operator.GE, "6.8", True),
        ("<= 1.2.3", Operator.LE, "1.2.3", True),
        ("> 2", Operator.GT, "2", True),  # ordering operators always compare versions
        ("< abc", Operator.LT, "abc", True),
        ("!= rhel", Operator.NE, "rhel", False),
        ("==ubuntu", Operator.EQ, "ubuntu", False),
        ("== 24.04", Operator.EQ, "24.04", True),
        ("== v1.30", Operator.EQ, "v1.30", True),
        ("== v", Operator.EQ, "v", False),
        ("== 1", Operator.EQ, "1", False),  # a digit but no dot
        ("== a.b", Operator.EQ, "a.b", False),  # a dot but no digit
        ("  ubuntu  ", Operator.EXACT, "ubuntu", False),
        ("24.04", Operator.EXACT, "24.04", True),
        ("=1.2", Operator.EXACT, "=1.2", True),  # a single '=' is not an operator
        (">==1", Operator.GE, "=1", True),  # longest operator first, the rest is the value
    ],
)
def test_expression_operators(text: str, operator: Operator, value: str, version_like: bool) -> None:
    expr = parse_expression(text)
    assert (expr.operator, expr.value, expr.version_like) == (operator, value, version_like)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "constraint expression cannot be empty"),
        ("   ", "constraint expression cannot be empty"),
        (">=", "constraint value cannot be empty after operator '>='"),
        ("!=   ", "constraint value cannot be empty after operator '!='"),
        ("<", "constraint value cannot be empty after operator '<'"),
    ],
)
def test_malformed_expressions(text: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_expression(text)


# ---------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("text", "parts", "precision", "extras"),
    [
        ("v1.32.4-eks-3025e55", (1, 32, 4), 3, "-eks-3025e55"),
        ("v1.30.14-eks-3025e55", (1, 30, 14), 3, "-eks-3025e55"),
        ("6.8.0-1028-aws", (6, 8, 0), 3, "-1028-aws"),
        ("v1.28.0-gke.1337000", (1, 28, 0), 3, "-gke.1337000"),
        ("24.04", (24, 4, 0), 2, ""),
        ("1.28", (1, 28, 0), 2, ""),
        ("7", (7, 0, 0), 1, ""),
        ("1.30+build", (1, 30, 0), 2, "+build"),
        ("+1.02.3", (1, 2, 3), 3, ""),  # Atoi: leading '+' and zeros allowed
        ("1.2.3-", (1, 2, 3), 3, "-"),
    ],
)
def test_parse_version(text: str, parts: tuple[int, int, int], precision: int, extras: str) -> None:
    v = parse_version(text)
    assert (v.major, v.minor, v.patch) == parts
    assert v.precision == precision
    assert v.extras == extras


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "version string is empty"),
        ("v", "version component is not numeric: empty component"),
        ("1..2", "version component is not numeric: empty component"),
        ("1.2.3.4", "version has more than 3 components"),
        ("ubuntu", 'version component is not numeric: "ubuntu"'),
        ("V1.2", 'version component is not numeric: "V1"'),  # only a lowercase v is stripped
        ("vv1.2", 'version component is not numeric: "v1"'),  # only one v is stripped
        ("1.2.3rc1", 'version component is not numeric: "3rc1"'),
        ("-1.2.3", "version component cannot be negative: -1"),  # a leading '-' starts no extras
        ("1.-2.3", "version component cannot be negative: -2"),  # '-' after '.' starts no extras
        ("99999999999999999999.1", "version component is not numeric"),  # beyond int64
        ("1" * 5000, "version component is not numeric"),
    ],
)
def test_parse_version_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_version(text)
    assert message in info.value.message


@pytest.mark.parametrize(
    ("actual", "expected", "order"),
    [
        ("1.33.5", "1.33", 0),  # only as deep as the less precise side
        ("1.30.5", "1.30", 0),
        ("v1.32.4-eks-3025e55", "1.32.4", 0),
        ("1.33", "1.32.4", 1),
        ("1.32", "1.32.9", 0),
        ("1.9", "1.10", -1),  # numeric, not lexical
        ("2", "1.99.99", 1),
        ("1.2.3", "1.2.4", -1),
        ("v1.30.14-eks-3025e55", "1.32.4", -1),
    ],
)
def test_compare_versions(actual: str, expected: str, order: int) -> None:
    assert compare_versions(parse_version(actual), parse_version(expected)) == order
    assert compare_versions(parse_version(expected), parse_version(actual)) == -order


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("1.33", "1.33.5", False),  # equality ignores precision: missing parts are 0
        ("1.30", "v1.30.0", True),
        ("24.04", "24.4", True),
        ("6.8.0-1028-aws", "6.8", True),
        ("1", "1.0.1", False),
    ],
)
def test_versions_equal(a: str, b: str, same: bool) -> None:
    assert versions_equal(parse_version(a), parse_version(b)) is same


_component = st.integers(min_value=0, max_value=10**6)


@given(st.tuples(_component, _component, _component), st.tuples(_component, _component, _component))
def test_full_precision_compare_matches_tuple_order(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    va, vb = parse_version("v" + ".".join(map(str, a)) + "-x"), parse_version(".".join(map(str, b)))
    assert compare_versions(va, vb) == (a > b) - (a < b)
    assert versions_equal(va, vb) is (a == b)
    assert parse_version(str(va)) == va


# ---------------------------------------------------------------- evaluating an expression


@pytest.mark.parametrize(
    ("expression", "actual", "holds"),
    [
        # exact: case-sensitive string equality, never a version compare
        ("ubuntu", "ubuntu", True),
        ("ubuntu", "Ubuntu", False),
        ("24.04", "24.4", False),
        # ==
        ("== ubuntu", "ubuntu", True),
        ("==ubuntu", "rhel", False),
        ("== 24.04", "24.4", True),
        ("== v1.30", "1.30.0", True),
        ("== 1.33", "1.33.5", False),
        ("== 1.x", "1.x", True),  # version-like but unparsable: string equality
        ("== 1.x", "1.X", False),
        # !=
        ("!= rhel", "ubuntu", True),
        ("!= ubuntu", "ubuntu", False),
        ("!= 24.04", "24.4", False),
        ("!= 1.2", "1.3", True),
        # >=
        (">= 1.28", "v1.32.4-eks-3025e55", True),
        (">= 1.32.4", "v1.30.14-eks-3025e55", False),
        (">= 6.8", "6.8.0-1028-aws", True),
        (">=1.32.4", "v1.32.4", True),
        # >
        ("> 1.30", "1.31", True),
        ("> 1.30", "1.30.5", False),  # precision 2: 1.30.5 compares equal to 1.30
        # <=
        ("<= 1.30", "1.30.9", True),
        ("<= 1.29", "1.30", False),
        # <
        ("< 2", "1.99.99", True),
        ("< 1.30", "1.30.0", False),
    ],
)
def test_evaluate_expression(expression: str, actual: str, holds: bool) -> None:
    assert evaluate_expression(parse_expression(expression), actual) is holds


@pytest.mark.parametrize(
    ("expression", "actual", "message"),
    [
        (">= 1.28", "ubuntu", 'cannot parse actual version: version component is not numeric: "ubuntu"'),
        ("< abc", "1.2", 'cannot parse expected version: version component is not numeric: "abc"'),
        # the expected side is parsed first
        ("> abc", "ubuntu", 'cannot parse expected version: version component is not numeric: "abc"'),
        ("<= 1.2", "", "cannot parse actual version: version string is empty"),
    ],
)
def test_evaluate_expression_errors(expression: str, actual: str, message: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        evaluate_expression(parse_expression(expression), actual)
    assert info.value.message == message


# ---------------------------------------------------------------- one constraint → status


def _check(snapshot: Snapshot, name: str, value: str) -> ConstraintResult:
    return check_constraint(Constraint(name, value), snapshot)


def test_passed_has_actual_and_no_message(snapshot: Snapshot) -> None:
    r = _check(snapshot, "OS.sysctl./proc/sys/kernel/osrelease", ">= 6.8")
    assert r == ConstraintResult(
        "OS.sysctl./proc/sys/kernel/osrelease", ">= 6.8", "6.8.0-1028-aws", ResultStatus.PASSED, ""
    )


def test_failed_says_expected_and_got(snapshot: Snapshot) -> None:
    r = _check(snapshot, "K8s.server.version", ">= 1.32.4")
    assert r.status is ResultStatus.FAILED
    assert r.actual == "v1.30.14-eks-3025e55"  # the first K8s measurement, not the second
    assert r.message == "expected >= 1.32.4, got v1.30.14-eks-3025e55"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("k8s.server.version", "invalid constraint path: unknown measurement type 'k8s'"),
        ("K8s.server", "invalid constraint path: 'K8s.server' has 2 part(s)"),
        ("GPU.smi.gpu.model", "value not found in snapshot: measurement type 'GPU' not found in snapshot"),
        ("OS.kmod.nvidia", "value not found in snapshot: subtype 'kmod' not found in measurement 'OS'"),
        ("OS.release.NAME", "value not found in snapshot: key 'NAME' not found in OS/release"),
        # a dotted subtype that exists but lacks the key: reported against the first split
        ("SystemD.containerd.service.SubState", "value not found in snapshot: subtype 'containerd' not found"),
    ],
)
def test_unresolvable_paths_are_skipped_without_actual(snapshot: Snapshot, name: str, message: str) -> None:
    r = _check(snapshot, name, "anything")
    assert r.status is ResultStatus.SKIPPED
    assert r.actual == ""
    assert r.expected == "anything"
    assert r.message.startswith(message)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "invalid constraint expression: constraint expression cannot be empty"),
        (">=", "invalid constraint expression: constraint value cannot be empty after operator '>='"),
    ],
)
def test_malformed_expression_is_skipped_with_actual(snapshot: Snapshot, value: str, message: str) -> None:
    r = _check(snapshot, "OS.release.VERSION_ID", value)
    assert (r.status, r.actual, r.message) == (ResultStatus.SKIPPED, "24.04", message)


def test_unparsable_version_fails(snapshot: Snapshot) -> None:
    r = _check(snapshot, "OS.release.ID", ">= 1.0")
    assert r.status is ResultStatus.FAILED
    assert r.actual == "ubuntu"
    assert r.message == 'evaluation failed: cannot parse actual version: version component is not numeric: "ubuntu"'


@pytest.mark.parametrize(
    ("key", "value", "actual"),
    [
        ("hugepages", "== 8", "8"),
        ("iommu", "true", "true"),
        ("ratio", "== 24.04", "24.04"),
    ],
)
def test_non_string_readings_compare_as_text(snapshot: Snapshot, key: str, value: str, actual: str) -> None:
    r = _check(snapshot, f"OS.grub.{key}", value)
    assert (r.status, r.actual) == (ResultStatus.PASSED, actual)


def test_actual_is_trimmed(snapshot: Snapshot) -> None:
    r = _check(snapshot, "OS.release.ID", "ubuntu")
    assert (r.status, r.actual) == (ResultStatus.PASSED, "ubuntu")


def test_duplicates_are_evaluated_separately_in_order(snapshot: Snapshot) -> None:
    results = validate_constraints(
        [Constraint("OS.release.ID", "ubuntu"), Constraint("OS.release.ID", "rhel"), Constraint("K8s.x", "1")],
        snapshot,
    )
    assert [(r.name, r.status) for r in results] == [
        ("OS.release.ID", ResultStatus.PASSED),
        ("OS.release.ID", ResultStatus.FAILED),
        ("K8s.x", ResultStatus.SKIPPED),
    ]


def test_constraint_holds_returns_result_and_actual(snapshot: Snapshot) -> None:
    assert constraint_holds(Constraint("OS.release.VERSION_ID", "== 24.4"), snapshot) == (True, "24.04")
    assert constraint_holds(Constraint("K8s.server.version", ">= 1.31"), snapshot) == (False, "v1.30.14-eks-3025e55")


@pytest.mark.parametrize(
    ("name", "value", "error", "code", "prefix"),
    [
        ("Nope.a.b", "1", InvalidRequestError, "INVALID_REQUEST", "invalid constraint path: "),
        ("GPU.smi.gpu.model", "h100", NotFoundError, "NOT_FOUND", "value not found in snapshot: "),
        ("OS.release.ID", "==", InvalidRequestError, "INVALID_REQUEST", "invalid constraint expression: "),
        ("OS.release.ID", "> 1", EidosError, "INTERNAL", "evaluation failed: cannot parse actual version"),
    ],
)
def test_constraint_holds_errors(
    snapshot: Snapshot, name: str, value: str, error: type[EidosError], code: str, prefix: str
) -> None:
    with pytest.raises(error) as info:
        constraint_holds(Constraint(name, value), snapshot)
    assert info.value.code == code
    assert info.value.message.startswith(prefix)
    assert info.value.details["constraint"] == name


# ---------------------------------------------------------------- summary and report


def _result(status: ResultStatus, message: str = "") -> ConstraintResult:
    return ConstraintResult("OS.release.ID", "ubuntu", "ubuntu", status, message)


@pytest.mark.parametrize(
    ("statuses", "overall"),
    [
        ((), OverallStatus.PASS),
        ((ResultStatus.PASSED, ResultStatus.PASSED), OverallStatus.PASS),
        ((ResultStatus.PASSED, ResultStatus.SKIPPED), OverallStatus.PARTIAL),
        ((ResultStatus.SKIPPED, ResultStatus.FAILED, ResultStatus.PASSED), OverallStatus.FAIL),
    ],
)
def test_summary_status(statuses: tuple[ResultStatus, ...], overall: OverallStatus) -> None:
    s = summarize([_result(st) for st in statuses], duration_ns=5)
    assert s.status is overall
    assert s.total == len(statuses)
    assert (s.passed, s.failed, s.skipped) == tuple(
        statuses.count(st) for st in (ResultStatus.PASSED, ResultStatus.FAILED, ResultStatus.SKIPPED)
    )
    assert s.duration_ns == 5


WHEN = datetime(2026, 1, 2, 18, 2, 49, 123456, tzinfo=UTC)


def sample_report() -> ValidationReport:
    return build_report(
        [_result(ResultStatus.PASSED), _result(ResultStatus.FAILED, "expected ubuntu, got rhel")],
        recipe_source="recipe.yaml",
        snapshot_source="cm://ns/snap",
        duration_ns=41_200,
        version="0.1.0",
        timestamp=WHEN,
    )


def test_report_document_field_order() -> None:
    doc = report_to_document(sample_report())
    assert list(doc) == [
        "kind", "apiVersion", "metadata", "recipeSource", "snapshotSource", "summary", "results",
    ]  # fmt: skip
    assert doc["kind"] == "ValidationResult"
    assert doc["apiVersion"] == "eidos.nvidia.com/v1alpha1"
    assert list(doc["metadata"].items()) == [("timestamp", "2026-01-02T18:02:49Z"), ("version", "0.1.0")]
    assert (doc["recipeSource"], doc["snapshotSource"]) == ("recipe.yaml", "cm://ns/snap")
    assert list(doc["summary"].items()) == [
        ("passed", 1), ("failed", 1), ("skipped", 0), ("total", 2), ("status", "fail"), ("duration", "41.2µs"),
    ]  # fmt: skip
    passed, failed = doc["results"]
    assert list(passed) == ["name", "expected", "actual", "status"]  # message omitted when empty
    assert list(failed) == ["name", "expected", "actual", "status", "message"]
    assert failed["message"] == "expected ubuntu, got rhel"
    assert all(type(v) is str for r in doc["results"] for v in r.values())  # plain strings, not enums


def test_report_document_reads_back() -> None:
    """The report is declared once: its JSON form decodes to the same report."""
    from dataclasses import replace

    from eidos_core.codec import decode

    report = sample_report()
    doc = report_to_document(report, numeric_duration=True)
    assert decode(ValidationReport, doc, source="report.json") == replace(report, timestamp=WHEN.replace(microsecond=0))


def test_report_document_variants() -> None:
    # A non-UTC time is converted; no version, no constraints; JSON wants integer nanoseconds.
    local = datetime(2026, 1, 2, 20, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    report = build_report([], recipe_source="-", snapshot_source="s.json", duration_ns=1500, timestamp=local)
    doc = report_to_document(report, numeric_duration=True)
    assert doc["metadata"] == {"timestamp": "2026-01-02T18:00:00Z"}
    assert doc["results"] == []
    assert doc["summary"]["status"] == "pass"
    assert doc["summary"]["duration"] == 1500
    assert report_to_document(report)["summary"]["duration"] == "1.5µs"


def test_report_timestamp_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = report_to_document(build_report([], recipe_source="r", snapshot_source="s"))["metadata"]["timestamp"]
    parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= parsed <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (850, "850ns"),
        (1_000, "1µs"),
        (41_200, "41.2µs"),
        (1_500_000, "1.5ms"),
        (1_000_000_000, "1s"),
        (2_500_000_000, "2.5s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (3_723_500_000_000, "1h2m3.5s"),
        (-1_500, "-1.5µs"),
    ],
)
def test_format_duration_like_go(ns: int, text: str) -> None:
    assert format_duration(ns) == text


# ---------------------------------------------------------------- the recipe's constraints


def test_constraints_from_our_recipe_document(make_store: Callable[..., RecipeStore]) -> None:
    store = make_store(
        gpu={"criteria": {"accelerator": "h100"}, "constraints": [{"name": "OS.release.ID", "value": "ubuntu"}]}
    )
    doc = recipe_to_document(build_recipe(store, Criteria(accelerator="h100")), "0.1.0")
    assert constraints_of(doc) == (
        Constraint("K8s.server.version", ">= 1.28"),
        Constraint("OS.release.ID", "ubuntu"),
    )


def constraints_of(doc: Any, source: str = "recipe") -> tuple[Constraint, ...]:
    return recipe_from_document(doc, source=source).constraints


def test_constraints_are_read_tolerantly() -> None:
    """validate reads recipes as bundle does: one reader (tests/unit/test_bundle_document.py)."""
    doc = {
        "Constraints": [  # Go's JSON decoding matches names case-insensitively
            {"Name": "OS.release.VERSION_ID", "Value": 24.04, "comment": "ignored"},
            {"name": "OS.release.ID"},  # missing value: reported as skipped later, not an error here
            {"name": "K8s.node.ready", "value": True},
        ],
        "somethingNew": {"ignored": True},
    }
    assert constraints_of(doc) == (
        Constraint("OS.release.VERSION_ID", "24.04"),
        Constraint("OS.release.ID", ""),
        Constraint("K8s.node.ready", "true"),
    )
    assert constraints_of({"kind": "recipeResult"}) == ()
    assert constraints_of({"constraints": None}) == ()


@pytest.mark.parametrize(
    ("doc", "field", "fragment"),
    [
        (["a"], None, "expected a recipeResult mapping, got a list"),
        ({"kind": "Snapshot"}, "kind", "kind: must be 'recipeResult', got 'Snapshot'"),
        ({"kind": "recipeCriteria"}, "kind", "kind: must be 'recipeResult', got 'recipeCriteria'"),
        ({"constraints": {"name": "x"}}, "constraints", "constraints: must be a list"),
        ({"constraints": [{"name": "a", "value": "1"}, "K8s.server.version"]}, "constraints[1]", "must be a mapping"),
        (
            {"constraints": [{"name": "a", "value": {">=": 1}}]},
            "constraints[0].value",
            "must be a string, got a mapping",
        ),
        ({"constraints": [{"name": ["a"], "value": "1"}]}, "constraints[0].name", "must be a string, got a list"),
        ({"constraints": [{"value": "1"}]}, "constraints[0].name", "constraints[0].name: is required"),
    ],
)
def test_bad_recipe_shapes_name_the_field(doc: Any, field: str | None, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        constraints_of(doc, source="r.yaml")
    assert info.value.message.startswith("r.yaml: ")
    assert fragment in info.value.message
    assert info.value.details.get("field") == field


def test_path_is_a_value_object() -> None:
    assert parse_path("GPU.smi.gpu.model") == ConstraintPath("GPU", "smi", "gpu.model")


def test_dotted_subtype_names_resolve_against_the_snapshot() -> None:
    snap = snapshot_from_document(
        {
            "kind": "Snapshot",
            "measurements": [
                {
                    "type": "SystemD",
                    "subtypes": [
                        {"subtype": "containerd", "data": {"x": "short"}},
                        {"subtype": "containerd.service", "data": {"ActiveState": "active", "service.x": "no"}},
                    ],
                }
            ],
        }
    )
    assert _check(snap, "SystemD.containerd.service.ActiveState", "active").status is ResultStatus.PASSED
    assert _check(snap, "SystemD.containerd.x", "short").status is ResultStatus.PASSED


def test_raw_documents_keep_constraint_text() -> None:
    from eidos_core import yaml

    doc = yaml.load(b"kind: recipeResult\nconstraints:\n  - name: OS.release.VERSION_ID\n    value: 22.10\n", raw=True)
    assert constraints_of(doc) == (Constraint("OS.release.VERSION_ID", "22.10"),)


# Accelerator overlays snapshot mode left out (issue 11): their constraints from constraintWarnings.
def excluded_of(doc: Any) -> tuple[ExcludedConstraint, ...]:
    return excluded_constraints(recipe_from_document(doc))


def excluded_recipe(**metadata: Any) -> dict[str, Any]:
    return {
        "kind": "recipeResult",
        "metadata": {
            "excludedOverlays": ["gb200", "ubuntu"],
            "constraintWarnings": [
                {"overlay": "gb200", "constraint": "K8s.server.version", "expected": ">= 1.32", "reason": "x"},
                {"overlay": "gb200", "constraint": "GPU.smi.driver", "expected": ">= 570", "reason": "not found"},
                {"overlay": "ubuntu", "constraint": "OS.release.VERSION_ID", "expected": ">= 26.04", "reason": "x"},
            ],
            **metadata,
        },
        "constraints": [{"name": "K8s.server.version", "value": ">= 1.29"}],
    }


def test_excluded_constraints_are_those_of_the_dropped_accelerator_overlays() -> None:
    doc = excluded_recipe(excludedAcceleratorOverlays=["gb200"])
    got = excluded_of(doc)
    assert [(e.overlay, e.constraint) for e in got] == [
        ("gb200", Constraint("K8s.server.version", ">= 1.32")),
        ("gb200", Constraint("GPU.smi.driver", ">= 570")),
    ]  # ubuntu's warning is no accelerator overlay's: it stays a warning
    assert excluded_of(excluded_recipe()) == ()  # no field: nothing extra
    with pytest.raises(InvalidRequestError, match="metadata: must be a mapping"):  # one reader: bundle's rules
        excluded_of({"metadata": "odd"})
    with pytest.raises(InvalidRequestError, match="excludedAcceleratorOverlays: must be a list"):
        excluded_of(excluded_recipe(excludedAcceleratorOverlays="gb200"))


def test_excluded_constraints_fail_until_the_cluster_meets_them(snapshot: Snapshot) -> None:
    excluded = excluded_of(excluded_recipe(excludedAcceleratorOverlays=["gb200"]))
    recipe_constraints = constraints_of(excluded_recipe())
    # The snapshot runs v1.30.14 and has no GPU measurement.
    results = check_excluded_constraints(excluded, recipe_constraints, snapshot)
    assert [(r.name, r.status) for r in results] == [
        ("K8s.server.version", ResultStatus.FAILED),
        ("GPU.smi.driver", ResultStatus.FAILED),  # cannot be checked: fails, as in snapshot mode
    ]
    assert results[0].message == "required by excluded overlay gb200: expected >= 1.32, got v1.30.14-eks-3025e55"
    assert results[1].message.startswith("required by excluded overlay gb200: value not found in snapshot")
    upgraded = snapshot_from_document(
        {
            "kind": "Snapshot",
            "measurements": [
                {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": "v1.33.1"}}]},
                {"type": "GPU", "subtypes": [{"subtype": "smi", "data": {"driver": "580.82.07"}}]},
            ],
        }
    )
    results = check_excluded_constraints(excluded, recipe_constraints, upgraded)
    assert [r.status for r in results] == [ResultStatus.PASSED, ResultStatus.PASSED]
    assert results[0].message == "required by excluded overlay gb200"


def test_excluded_constraints_already_in_the_recipe_are_reported_once(snapshot: Snapshot) -> None:
    twice = ExcludedConstraint("gb200", Constraint("K8s.server.version", ">= 1.29"))
    other = ExcludedConstraint("gb200", Constraint("K8s.server.version", ">= 1.32"))
    results = check_excluded_constraints([twice, other, other], [Constraint("K8s.server.version", ">= 1.29")], snapshot)
    assert [r.expected for r in results] == [">= 1.32"]
