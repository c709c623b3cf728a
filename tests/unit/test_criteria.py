from __future__ import annotations

import pytest

from eidos_core.errors import CriteriaError, InvalidRequestError
from eidos_core.recipe.criteria import (
    AllowLists,
    Criteria,
    CriteriaNotAllowedError,
    criteria_from_document,
    parse_allowlists,
    parse_criteria,
)


def test_defaults_are_any() -> None:
    c = parse_criteria()
    assert c == Criteria("any", "any", "any", "any", 0)
    assert c.specificity == 0
    assert str(c) == "criteria(any)"


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("service", " EKS ", "eks"),
        ("service", "self-managed", "any"),
        ("service", "vanilla", "any"),
        ("accelerator", "GB200", "gb200"),
        ("os", "al2023", "amazonlinux"),
        ("os", "AL2", "amazonlinux"),
        ("os", "amzn", "amazonlinux"),
        ("intent", "", "any"),
    ],
)
def test_aliases_and_case(field: str, raw: str, expected: str) -> None:
    assert getattr(parse_criteria(**{field: raw}), field) == expected


@pytest.mark.parametrize(
    ("field", "raw", "allowed"),
    [
        ("service", "windows", "aks, eks, gke, oke, any"),
        ("accelerator", "v100", "a100, gb200, h100, l40, any"),
        ("intent", "serving", "inference, training, any"),
        ("os", "windows", "amazonlinux, cos, rhel, ubuntu, any"),
    ],
)
def test_errors_name_field_value_and_allowed(field: str, raw: str, allowed: str) -> None:
    with pytest.raises(CriteriaError) as info:
        parse_criteria(**{field: raw})
    err = info.value
    assert err.field == field and err.value == raw
    assert str(err) == f"invalid {field} type: {raw} (allowed: {allowed})"
    assert err.exit_code == 2 and err.http_status == 400


@pytest.mark.parametrize(("raw", "expected"), [("8", 8), ("+4", 4), ("4abc", 4), (3, 3), ("", 0), (None, 0)])
def test_nodes(raw: object, expected: int) -> None:
    assert parse_criteria(nodes=raw).nodes == expected


@pytest.mark.parametrize(("raw", "text"), [("abc", "invalid nodes value: abc"), ("-5", "invalid nodes count: -5")])
def test_bad_nodes(raw: str, text: str) -> None:
    with pytest.raises(CriteriaError, match=text):
        parse_criteria(nodes=raw)


def test_specificity_and_description() -> None:
    c = parse_criteria(service="eks", accelerator="h100", nodes=8)
    assert c.specificity == 3
    assert str(c) == "criteria(service=eks, accelerator=h100, nodes=8)"
    assert c.to_dict() == {"service": "eks", "accelerator": "h100", "intent": "any", "os": "any", "nodes": 8}
    assert c.replace(intent="training", os=None).intent == "training"


def test_criteria_document() -> None:
    doc = {"kind": "recipeCriteria", "apiVersion": "eidos.nvidia.com/v1alpha1", "metadata": {"name": "x"},
           "spec": {"service": "gke", "gpu": "a100", "nodes": 2}}  # fmt: skip
    assert criteria_from_document(doc) == Criteria("gke", "a100", "any", "any", 2)
    assert criteria_from_document({"spec": {}}) == Criteria()
    assert criteria_from_document(None) == Criteria()


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"kind": "Other"}, "kind must be 'recipeCriteria'"),
        ({"apiVersion": "v2"}, "apiVersion must be"),
        ({"spec": {"servce": "eks"}}, "unknown field spec.servce"),
        ({"extra": 1}, "unknown field 'extra'"),
        ({"spec": []}, "spec must be a mapping"),
        (["x"], "expected a recipeCriteria mapping"),
    ],
)
def test_bad_criteria_documents(doc: object, needle: str) -> None:
    with pytest.raises(InvalidRequestError, match=needle):
        criteria_from_document(doc, source="criteria.yaml")


def test_allowlists() -> None:
    lists = parse_allowlists({"EIDOS_ALLOWED_ACCELERATORS": "h100, l40,any", "Eidos_ALLOWED_OS": "al2"})
    assert lists == AllowLists(accelerator=("h100", "l40"), os=("amazonlinux",))
    lists.check(parse_criteria(accelerator="h100"))
    lists.check(parse_criteria())  # any always passes
    with pytest.raises(CriteriaNotAllowedError) as info:
        lists.check(parse_criteria(accelerator="gb200"))
    assert info.value.details == {"field": "accelerator", "requested": "gb200", "allowed": ["h100", "l40"]}
    assert not parse_allowlists({}).enabled


def test_bad_allowlist_is_an_error_naming_the_variable() -> None:
    with pytest.raises(InvalidRequestError, match="invalid EIDOS_ALLOWED_SERVICES: invalid service type: mars"):
        parse_allowlists({"EIDOS_ALLOWED_SERVICES": "eks,mars"})
