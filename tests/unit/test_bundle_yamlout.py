"""The bundle's fast YAML writer is byte-for-byte the ruamel dumper (issue 9 item 10)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos_cli.bundle.yamlout import dump, line
from eidos_core import yaml

# Text that exercises every branch: plain words, YAML 1.1 booleans, numbers-as-text, indicators,
# spaces, colons, hashes, line breaks, non-ASCII, long strings.
TRICKY = [
    "", " ", "a", "y", "No", "ON", "null", "~", "True", "1.2.3", "v1.17.2", "1e3", "0x10", "12:30",
    "2024-01-31", "https://charts.jetstack.io", "a: b", "a #b", "a#b", "- a", "a -b", "a  b", "a ",
    " a", "line1\nline2", "trailing\n", "tab\tx", "é", "ключ", "x" * 300, "a" * 127, "a" * 128, "@at",
    "a@b", "0", "123", "0123", "1.2", "1.2.3.4", "01.2.3", "1.2.3-rc1", "%p", "a,b", "[x]", "{x}", "a:",
    "a:b", "$values/c/values.yaml", "$", "a$b", "$ a", "'q'", '"q"', "*a", "&a", "!t", "|", ">", "?",
]  # fmt: skip
scalars = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=20),
    st.text(alphabet="ab:# -.\n", max_size=8),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
keys = st.one_of(st.sampled_from(TRICKY), st.text(max_size=10), st.integers(-5, 5), st.booleans())
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, documents, max_size=5))
def test_fast_dump_is_ruamel_dump(data: dict[Any, Any]) -> None:
    assert dump(data) == yaml.dump(data)


@settings(max_examples=300, deadline=None)
@given(scalars)
def test_line_is_the_dumped_entry(value: Any) -> None:
    expected = yaml.dump({"version": value}).rstrip("\n").split("\n")
    assert line("version", value, "  - ") == "".join(
        f"{text}\n" for text in ["  - " + expected[0], *("    " + r for r in expected[1:])]
    )


def test_a_bundle_shaped_document() -> None:
    doc: dict[str, Any] = {
        "kind": "recipeResult",
        "componentRefs": [
            {"name": "gpu-operator", "version": "v25.10.1", "overrides": {"driver": {"enabled": True}},
             "dependencyRefs": ["cert-manager"], "manifestFiles": []},
            {"name": "x", "overrides": {}, "patches": [{"a": [1, [2, 3]]}], "text": "a\nb\n"},
        ],
        "deploymentOrder": ["cert-manager", "gpu-operator"],
        "empty": {},
        "none": None,
    }  # fmt: skip
    assert dump(doc) == yaml.dump(doc)
    assert dump({}) == yaml.dump({}) and dump([1, 2]) == yaml.dump([1, 2])
