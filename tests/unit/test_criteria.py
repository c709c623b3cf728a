from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eidos_core.errors import CriteriaError, InvalidRequestError
from eidos_core.recipe.criteria import (
    MAX_NODES,
    AllowLists,
    Criteria,
    CriteriaNotAllowedError,
    api_pattern,
    criteria_from_document,
    parse_allowlists,
    parse_criteria,
    parse_field,
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
    kwargs: dict[str, Any] = {field: raw}
    assert getattr(parse_criteria(**kwargs), field) == expected


@pytest.mark.parametrize(
    ("field", "raw", "allowed"),
    [
        ("service", "windows", "aks, eks, gke, oke, any"),
        ("accelerator", "v100", "a100, b200, gb200, gb300, h100, h200, l40, any"),
        ("intent", "serving", "inference, training, any"),
        ("os", "windows", "amazonlinux, cos, rhel, ubuntu, any"),
    ],
)
def test_errors_name_field_value_and_allowed(field: str, raw: str, allowed: str) -> None:
    kwargs: dict[str, Any] = {field: raw}
    with pytest.raises(CriteriaError) as info:
        parse_criteria(**kwargs)
    err = info.value
    assert err.field == field and err.value == raw
    assert str(err) == f"invalid {field} type: {raw} (allowed: {allowed})"
    assert err.exit_code == 2 and err.http_status == 400


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("8", 8), ("+4", 4), ("0008", 8), ("-0", 0), (3, 3), ("", 0), (None, 0), (MAX_NODES, MAX_NODES)],
)
def test_nodes(raw: object, expected: int) -> None:
    assert parse_criteria(nodes=raw).nodes == expected


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("abc", "invalid nodes value: abc"),
        ("-5", "invalid nodes count: -5 (must be >= 0)"),
        # What the OpenAPI document calls "integer" and nothing else (schemathesis found these).
        ("0.5", "invalid nodes value: 0.5"),
        ("1e3", "invalid nodes value: 1e3"),
        ("4abc", "invalid nodes value: 4abc"),
        (" 4", "invalid nodes value:  4"),
        ("1_000", "invalid nodes value: 1_000"),
        ("\u0664", "invalid nodes value: \u0664"),  # int() would read Arabic-Indic 4
        (4.0, "invalid nodes value: 4.0"),
        (True, "invalid nodes value: true"),
        (str(MAX_NODES + 1), f"invalid nodes count: {MAX_NODES + 1} (must be <= {MAX_NODES})"),
        # Refused on its length, before int() could raise past Python's 4,300-digit limit.
        pytest.param("9" * 5000, f"(must be <= {MAX_NODES})", id="5000-digit-text"),
        pytest.param(10**5000, "an integer of 16610 bits", id="5000-digit-int"),
    ],
)
def test_bad_nodes(raw: object, text: str) -> None:
    with pytest.raises(CriteriaError) as info:
        parse_criteria(nodes=raw)
    assert text in str(info.value)
    assert info.value.field == "nodes" and len(str(info.value)) < 120


def test_exact_parse_takes_only_the_documented_spellings() -> None:
    assert parse_criteria("eks", "h100", "training", "al2023", exact=True) == Criteria(
        "eks", "h100", "training", "amazonlinux"
    )
    assert parse_criteria("", "", "", "", "", exact=True) == Criteria()
    assert parse_criteria(" EKS\n", "GB200", " Training", exact=True) == Criteria("eks", "gb200", "training")
    assert parse_criteria(" \u00a0EKS ").service == "eks"  # lenient (CLI flags): any whitespace
    for raw in ("e ks", "e\u212as", "eks\r", "\u00a0eks", "ekss"):
        with pytest.raises(CriteriaError, match="invalid service type"):
            parse_criteria(raw, exact=True)
    with pytest.raises(CriteriaError, match="must be a string"):
        parse_criteria(service=5, exact=True)


def test_gpu_is_checked_even_beside_accelerator() -> None:
    assert parse_criteria(accelerator="h100", gpu="l40").accelerator == "h100"  # accelerator wins
    assert parse_criteria(accelerator="", gpu="l40").accelerator == "l40"
    with pytest.raises(CriteriaError, match="invalid accelerator type: v100"):
        parse_criteria(accelerator="h100", gpu="v100", exact=True)


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
    # null means absent, everywhere; metadata's contents are ignored.
    nulls = {"kind": None, "apiVersion": None, "metadata": {"name": 5, "labels": {"a": "b"}},
             "spec": dict.fromkeys(("service", "accelerator", "gpu", "intent", "os", "nodes"))}  # fmt: skip
    assert criteria_from_document(nulls) == Criteria()
    assert criteria_from_document({"spec": None, "metadata": None}) == Criteria()


@pytest.mark.parametrize(
    ("doc", "needle", "field"),
    [
        ({"kind": "Other"}, "kind: must be 'recipeCriteria', got 'Other'", "kind"),
        ({"kind": ""}, "kind: must be 'recipeCriteria'", "kind"),
        ({"apiVersion": "v2"}, "apiVersion: must be", "apiVersion"),
        ({"spec": {"servce": "eks"}}, "spec.servce: unknown field", "spec.servce"),
        ({"extra": 1}, "extra: unknown field", "extra"),
        ({"spec": []}, "spec: must be a mapping", "spec"),
        ({"metadata": "x"}, "metadata: must be a mapping", "metadata"),
        ({"spec": {"nodes": "4"}}, "invalid nodes value: '4'", "spec.nodes"),
        ({"spec": {"nodes": 4.5}}, "invalid nodes value: 4.5", "spec.nodes"),
        ({"spec": {"nodes": 1e3}}, "invalid nodes value: 1000.0", "spec.nodes"),
        ({"spec": {"nodes": -1}}, "invalid nodes count: -1 (must be >= 0)", "spec.nodes"),
        ({"spec": {"nodes": 10**6}}, "must be <= 100000", "spec.nodes"),
        ({"spec": {"os": "Ubuntu 24.04"}}, "invalid os type: Ubuntu 24.04", "spec.os"),
        ({"spec": {"os": " \t"}}, "empty string", "spec.os"),
        ({"spec": {"service": ""}}, "empty string", "spec.service"),
        ({"spec": {"intent": True}}, "must be a string", "spec.intent"),
        ({"spec": {"accelerator": "h100", "gpu": "v100"}}, "invalid accelerator type: v100", "spec.gpu"),
    ],
)
def test_bad_criteria_documents(doc: object, needle: str, field: str) -> None:
    with pytest.raises(InvalidRequestError, match=re.escape(needle)) as info:
        criteria_from_document(doc, source="criteria.yaml")
    assert info.value.details["field"] == field


def test_bad_criteria_document_kind() -> None:
    with pytest.raises(InvalidRequestError, match="expected a recipeCriteria mapping"):
        criteria_from_document(["x"], source="criteria.yaml")


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


@settings(max_examples=2000)
@given(
    st.text(st.characters(codec="utf-8"), max_size=14)
    | st.sampled_from(["EKS", " al2023\n", "Self-Managed", "e\u212as"])
)
def test_the_api_takes_exactly_what_its_pattern_documents(raw: str) -> None:
    """The OpenAPI document's pattern and the server's parser agree on every string."""
    for field in ("service", "accelerator", "intent", "os"):
        for empty in (True, False):
            documented = re.search(api_pattern(field, empty=empty), raw) is not None
            try:
                if empty:
                    parse_field(field, raw, exact=True)
                else:
                    criteria_from_document({"spec": {field: raw}})
                taken = True
            except InvalidRequestError:  # CriteriaError from parse_field; the document reader names the field
                taken = False
            assert documented == taken, (field, empty, raw)
