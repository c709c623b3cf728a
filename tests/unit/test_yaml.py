from __future__ import annotations

import pytest

from eidos_core import yaml
from eidos_core.yaml import Scalar, YamlSyntaxError


def test_yaml_12_rules_and_raw_text() -> None:
    doc = yaml.load("v: 1.10\nb: yes\nn: ~\nh: 0x1F\nd: 2001-01-01\n")
    assert doc == {"v": 1.1, "b": "yes", "n": None, "h": 31, "d": "2001-01-01"}
    raw = yaml.load("v: 1.10\nw: true\n", raw=True)
    assert raw["v"] == Scalar(1.1, "1.10", 1)
    assert raw["w"].text == "true" and raw["w"].value is True


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0644", 420),
        ("-0644", -420),
        ("0_644", 420),
        ("00", 0),
        ("0", 0),
        ("0b101", 5),
        ("0o644", 420),
        ("08", 8.0),
        ("007.5", 7.5),
        ("644", 644),
    ],
)
def test_integers_read_as_go_and_helm_read_them(text: str, value: object) -> None:
    """A values file's ``defaultMode: 0644`` is the file mode 0o644 for Helm (Go's YAML), so it is
    for us: a bundle writes 420, never 644, which Helm would take for another mode."""
    got = yaml.load(f"m: {text}\n")["m"]
    assert got == value and type(got) is type(value), (text, got)
    assert yaml.load(yaml.dump({"m": got})) == {"m": value}
    assert yaml.load(yaml.dump({"m": text})) == {"m": text}  # the same text as a string stays one


def test_dump_quotes_strings_that_would_change_type() -> None:
    text = yaml.dump({"a": "1.10", "b": "true", "c": "580.82.07", "d": {"e": [1, "x"]}, "f": ""})
    assert yaml.load(text) == {"a": "1.10", "b": "true", "c": "580.82.07", "d": {"e": [1, "x"]}, "f": ""}
    assert "c: 580.82.07" in text
    assert "  e:\n    - 1\n" in text  # two-space indentation, indented sequences


def test_dump_keeps_insertion_order() -> None:
    assert yaml.dump({"z": 1, "a": 2}).splitlines() == ["z: 1", "a: 2"]


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        ("a: [1\n", "expected ','", 2),
        ("a: 1\na: 2\n", "duplicate key 'a'", 2),
        ("a: !!python/object x\n", "unsupported tag", 1),
        ("a: !custom x\n", "unsupported tag !custom", 1),
        ("a: &x [*x]\n", "", None),
    ],
)
def test_errors_name_source_and_line(text: str, needle: str, line: int | None) -> None:
    with pytest.raises(YamlSyntaxError) as info:
        yaml.load(text, source="dir/file.yaml")
    assert str(info.value).startswith("dir/file.yaml")
    assert needle in str(info.value)
    if line is not None:
        assert info.value.line == line


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(YamlSyntaxError, match="alias bomb"):
        yaml.load("\n".join(lines), source="bomb.yaml")


def test_small_aliases_and_merge_keys_work() -> None:
    doc = yaml.load("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n")
    assert doc["other"] == {"x": 1, "y": 3}


def test_one_document_only() -> None:
    with pytest.raises(YamlSyntaxError, match="one YAML document"):
        yaml.load("a: 1\n---\nb: 2\n")
    assert yaml.load("") is None


def test_not_utf8() -> None:
    with pytest.raises(YamlSyntaxError, match="not UTF-8"):
        yaml.load(b"a: \xff\xfe\n", source="bin.yaml")


def test_dump_multiline_text_as_literal_blocks_and_yaml11_words_quoted() -> None:
    doc = {"notes": "line one\nline two\n", "odd": "trailing \nspace", "flag": "no", "switch": "On", "word": "ok"}
    text = yaml.dump(doc)
    assert "notes: |\n  line one\n  line two\n" in text
    assert 'flag: "no"' in text and 'switch: "On"' in text and "word: ok" in text
    more = yaml.dump({"t": "12:30", "d": "2024-01-02", "v": "v1:2"})
    assert 't: "12:30"' in more and 'd: "2024-01-02"' in more and "v: v1:2" in more
    assert yaml.load(text) == doc  # whatever the style, the text comes back unchanged


@pytest.mark.parametrize(
    ("text", "reason", "line", "column"),
    [
        ('{"a": 1,\n "b": }', "Expecting value", 2, 7),
        ('{"a": 1, "a": 2}', "duplicate key 'a'", None, None),
        ("a: 1", "Expecting value", 1, 1),
        ('{"a": Infinity}', "Infinity is not a JSON number", None, None),
    ],
)
def test_json_only_reports_json_errors(text: str, reason: str, line: int | None, column: int | None) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        yaml.load(text, source="body", json_only=True)
    assert caught.value.reason == f"invalid JSON: {reason}"
    assert (caught.value.line, caught.value.column) == (line, column)
    assert yaml.load('{"a": [1, "x"]}', json_only=True) == {"a": [1, "x"]}
    assert yaml.load("42", json_only=True) == 42
