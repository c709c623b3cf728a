"""The one loader's limits and its behaviour on hostile text."""

from __future__ import annotations

import json
import math
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos_core import yaml
from eidos_core.yaml import LimitExceededError, Limits, YamlSyntaxError

DEEP = 100_000


@pytest.mark.parametrize(
    "text",
    [
        "[" * DEEP,
        "[" * DEEP + "]" * DEEP,
        "{a: " * DEEP + "}" * DEEP,
        '{"a":' * DEEP + "1" + "}" * DEEP,
        "- " * DEEP + "x",
        "".join("  " * i + "k:\n" for i in range(400)),
    ],
    ids=["flow-open", "flow-closed", "flow-mapping", "json", "block-sequence", "block-mapping"],
)
@pytest.mark.parametrize("raw", [False, True])
def test_deep_nesting_is_a_located_limit_error(text: str, raw: bool) -> None:
    with pytest.raises(LimitExceededError) as info:
        yaml.load(text, source="deep.yaml", raw=raw)
    assert info.value.limit == "max_depth"
    assert str(info.value).startswith("deep.yaml")
    assert "deeper than 256 levels" in info.value.message


def test_nesting_up_to_the_limit_loads() -> None:
    doc = yaml.load("[" * 256 + "]" * 256)
    for _ in range(255):
        doc = doc[0]
    assert doc == []


@pytest.mark.parametrize(
    "text",
    ["n: " + "9" * 5000, '{"n": ' + "9" * 5000 + "}", "n: 0x" + "f" * 5000, "n: !!int " + "1" * 200, "- -" + "1" * 101],
)
def test_huge_integers_are_refused_before_int_runs(text: str) -> None:
    with pytest.raises(LimitExceededError) as info:
        yaml.load(text, source="ints.yaml")
    assert info.value.limit == "max_int_digits"
    assert "digits" in info.value.message


def test_integers_within_the_limit_keep_their_value() -> None:
    assert yaml.load("n: " + "9" * 100) == {"n": int("9" * 100)}
    assert yaml.load('{"n": -' + "1" * 100 + "}") == {"n": -int("1" * 100)}


@pytest.mark.parametrize("text", ["s: " + "x" * 40, '{"s": "' + "x" * 40 + '"}', "s: |\n  " + "y" * 40 + "\n"])
def test_long_scalars_are_refused(text: str) -> None:
    with pytest.raises(LimitExceededError) as info:
        yaml.load(text, limits=Limits(max_scalar_chars=32))
    assert info.value.limit == "max_scalar_chars"


@pytest.mark.parametrize("text", ["[" + "1, " * 100 + "1]", "\n".join(f"k{i}: {i}" for i in range(100))])
def test_node_count_is_bounded(text: str) -> None:
    with pytest.raises(LimitExceededError) as info:
        yaml.load(text, limits=Limits(max_nodes=50))
    assert info.value.limit == "max_nodes"


def test_size_is_checked_before_decoding() -> None:
    with pytest.raises(LimitExceededError) as info:
        yaml.load(b"a: b\n" * 100, source="big.yaml", limits=Limits().with_size(64))
    assert info.value.limit == "max_bytes"
    assert "500 bytes (at most 64)" in info.value.message


def test_alias_bomb_counts_expanded_nodes() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 6)]
    with pytest.raises(LimitExceededError) as info:
        yaml.load("\n".join(lines))
    assert info.value.limit == "max_alias_nodes"


def test_aliases_are_independent_copies() -> None:
    doc = yaml.load("a: &x {k: [1]}\nb: *x\n")
    doc["b"]["k"].append(2)
    assert doc["a"] == {"k": [1]}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (b"a: \xff", "not UTF-8"),
        ("a: b\x00c", "control characters"),
        ('{"a": "\\ud83d"}', "escape"),
        ("a: *nowhere", "undefined alias"),
        ("? [a]\n: 1", "mapping keys must be scalars"),
        ("a: !!set {x}", "unsupported tag"),
        ("a: !!int x1", "not an integer"),
        ("a: !!bool maybe", "not a boolean"),
        ("a: 1\n---\nb: 2", "one YAML document"),
    ],
)
def test_bad_text_is_a_located_syntax_error(text: str | bytes, needle: str) -> None:
    with pytest.raises(YamlSyntaxError) as info:
        yaml.load(text, source="bad.yaml")
    assert needle in info.value.message
    assert info.value.message.startswith("bad.yaml")


def test_json_is_json() -> None:
    assert yaml.load('{"a": "\\ud83d\\ude00", "b": [1, 2.5, null, true]}') == {"a": "😀", "b": [1, 2.5, None, True]}
    with pytest.raises(YamlSyntaxError, match="duplicate key 'a'"):
        yaml.load('{"a": 1, "a": 2}', source="dup.json")


def test_yaml_12_core_scalars() -> None:
    items = [
        "1_000",
        "0o17",
        "0x1f",
        "012",
        "0b11",
        "1e3",
        ".5",
        "-.inf",
        ".NaN",
        "1.10",
        "~",
        "Null",
        "TRUE",
        "yes",
        "=",
        "12:30",
    ]
    doc = yaml.load("".join(f"- {item}\n" for item in items))
    assert doc[:6] == [1000, 15, 31, 10, 3, 1000.0]  # 012 octal and 0b11 binary, as yaml.v3 and Helm read them
    assert doc[6:8] == [0.5, -math.inf] and math.isnan(doc[8])
    assert doc[9:] == [1.1, None, None, True, "yes", "=", "12:30"]
    raw = yaml.load("v: 1.10\n", raw=True)["v"]
    assert (raw.value, raw.text, raw.line) == (1.1, "1.10", 1)


def test_repeated_loads_do_not_grow_memory() -> None:
    text = "apiVersion: v1\nkind: RecipeCriteria\nspec: {service: eks, accelerator: h100}\n"
    for _ in range(200):
        yaml.load(text)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(5000):
            yaml.load(text)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 100_000, f"5,000 loads kept {grown} bytes"  # a leak of ~250 B/load keeps 1.2 MB


_keys = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), max_size=8)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x85\u2028\u2029"), max_size=20)
)
_documents = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4), max_leaves=20
)


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_dumped_yaml_and_json_read_back_unchanged(doc: Any) -> None:
    assert yaml.load(yaml.dump(doc)) == doc
    wrapped = {"doc": doc}
    try:
        text = json.dumps(wrapped, allow_nan=False)
    except ValueError:
        return  # infinity is not JSON
    assert yaml.load(text) == wrapped
    assert yaml.load(json.dumps(wrapped, indent=1).encode()) == wrapped


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("[]{}:,-?&*!|>'\"#%@` \n\tab19.~\x00\\")), max_size=200))
def test_any_text_loads_or_is_a_yaml_error(text: str) -> None:
    try:
        yaml.load(text, raw=True)
        yaml.load(text)
    except YamlSyntaxError:
        pass


def test_yaml_12_that_libyaml_refuses_is_read() -> None:
    # libyaml scans flow mappings by YAML 1.1 rules; Go's yaml.v3 reads this, and so must we.
    text = "chart: {repository: https://charts.jetstack.io, name: cert-manager}\n"
    assert yaml.load(text) == {"chart": {"repository": "https://charts.jetstack.io", "name": "cert-manager"}}
    assert yaml.load(text, raw=True)["chart"]["repository"].line == 1
    with pytest.raises(YamlSyntaxError, match="escape"):  # the slower reading keeps the same rules
        yaml.load('a: "\\ud83d"\n')
