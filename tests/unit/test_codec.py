"""The codec: one reader (collect every problem, or stop at the first), field kinds, and records
whose decoding, encoding, merging and JSON schema all come from one declaration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from eidos_core import yaml
from eidos_core.codec import (
    Emit,
    FreeMapping,
    Group,
    Header,
    Integer,
    ListOf,
    Merge,
    Mode,
    Nested,
    OptionalText,
    Reader,
    Text,
    decode,
    decode_all,
    encode,
    merge,
    record,
    wire,
)
from eidos_core.errors import InvalidRequestError


def _no_dots(value: str) -> str | None:
    return "must not contain '.'" if "." in value else None


@dataclass(frozen=True, slots=True)
class Item:
    name: str = wire("name", required=True, emit=Emit.ALWAYS, merge=Merge.KEEP, checks=(_no_dots,))
    note: str = wire("note", Text(line=False))
    size: int = wire("size", Integer(0, 10))
    tags: tuple[str, ...] = wire("tags", ListOf(Text()), merge=Merge.UNION)
    values: Mapping[str, Any] = wire("values", FreeMapping(), merge=Merge.DEEP)
    owner: str = wire("owner", fallback="name")
    comment: str | None = wire("comment", OptionalText())


@dataclass(frozen=True, slots=True)
class Box:
    HEADER: ClassVar[Header] = Header("Box", strict=True, required=True)
    GROUPS: ClassVar[Mapping[str, Group]] = {"metadata": Group(open=True, schema_name="BoxMetadata")}

    label: str = wire("label", group="metadata", required=True)
    items: tuple[Item, ...] = wire("items", ListOf(Nested(Item), unique="name", noun="item"))
    first: Item | None = wire("first", Nested(Item, optional=True))


@dataclass(frozen=True, slots=True)
class LooseBox:
    HEADER: ClassVar[Header] = Header("LooseBox", strict=False, fold_case=True)

    items: tuple[Item, ...] = wire("items", ListOf(Nested(Item)), emit=Emit.ALWAYS)


BOX = """\
kind: Box
apiVersion: eidos.nvidia.com/v1alpha1
metadata: {label: l, anything: goes}
items:
  - name: a
    size: 3
    tags: [x, y]
    values: {k: {deep: 1}}
  - {name: b, comment: ""}
"""


def test_decode_encode_round_trip() -> None:
    box = decode(Box, yaml.load(BOX, raw=True), source="box.yaml")
    assert box.label == "l"
    a, b = box.items
    assert (a.name, a.size, a.tags, a.values, a.owner, a.comment) == ("a", 3, ("x", "y"), {"k": {"deep": 1}}, "a", None)
    assert b.comment == ""  # null is absent, "" is a value
    out = encode(box)
    assert list(out) == ["kind", "apiVersion", "metadata", "items"]  # declaration order, group in place
    assert out["metadata"] == {"label": "l"}
    assert out["items"][1] == {"name": "b", "owner": "b", "comment": ""}  # empty fields left out
    assert decode(Box, yaml.load(yaml.dump(out), raw=True), source="again") == box


def test_raw_scalars_keep_their_text() -> None:
    box = decode(Box, yaml.load(BOX.replace("label: l", "label: 1.10"), raw=True), source="b")
    assert box.label == "1.10"


def test_collect_mode_lists_every_problem_with_file_field_and_line() -> None:
    text = BOX.replace("size: 3", "size: 30").replace("name: b", "name: b.c, extra: 1") + "  - {size: 1}\n"
    box, problems = decode_all(Box, yaml.load(text, raw=True), source="box.yaml")
    assert box is not None
    assert [str(p) for p in problems] == [
        "box.yaml:6: items[0].size: must be an integer >= 0 and <= 10",
        "box.yaml:9: items[1].extra: unknown field (allowed: name, note, size, tags, values, owner, comment)",
        "box.yaml:9: items[1].name: must not contain '.'",
        "box.yaml:10: items[2].name: is required",
    ]
    assert [i.name for i in box.items] == ["a", "b.c"]  # the item without its name is left out


def test_first_mode_raises_the_first_problem_naming_the_field() -> None:
    doc = yaml.load(BOX.replace("tags: [x, y]", "tags: {x: 1}"), raw=True)
    with pytest.raises(InvalidRequestError) as info:
        decode(Box, doc, source="box.yaml")
    assert info.value.message == "box.yaml:7: items[0].tags: must be a list, got a mapping"
    assert info.value.details == {"field": "items[0].tags"}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (None, "b: empty document; expected a Box"),
        (["x"], "b: expected a Box mapping, got a list"),
        ({"apiVersion": "eidos.nvidia.com/v1alpha1", "metadata": {"label": "x"}}, "b: kind: is required"),
        ({"kind": "box", "apiVersion": "eidos.nvidia.com/v1alpha1"}, "b: kind: must be 'Box', got 'box'"),
        ({"kind": "Box", "apiVersion": "v2"}, "b: apiVersion: must be 'eidos.nvidia.com/v1alpha1', got 'v2'"),
        ({"kind": "Box", "apiVersion": "eidos.nvidia.com/v1alpha1"}, "b: metadata.label: is required"),
        ({"kind": "Box", "apiVersion": "eidos.nvidia.com/v1alpha1", "metadata": []}, "b: metadata: must be a mapping"),
        (
            {"kind": "Box", "apiVersion": "eidos.nvidia.com/v1alpha1", "metadata": {"label": "x"},
             "items": [{"name": "a"}, {"name": "a"}]},
            "b: items[1].name: duplicate item 'a' (also items[0])",
        ),
        (
            {"kind": "Box", "apiVersion": "eidos.nvidia.com/v1alpha1", "metadata": {"label": "x"},
             "items": [{"name": "a", "note": {"x": 1}}]},
            "b: items[0].note: must be a string, got a mapping",
        ),
        (
            {"kind": "Box", "apiVersion": "eidos.nvidia.com/v1alpha1", "metadata": {"label": "x\ny"}},
            "b: metadata.label: must be a single line without control characters",
        ),
    ],
)  # fmt: skip
def test_shape_problems(doc: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        decode(Box, doc, source="b")
    assert info.value.message.startswith(message)


def test_tolerant_documents_ignore_unknown_keys_fold_case_and_skip_authoring_checks() -> None:
    loose = decode(LooseBox, {"KIND": "loosebox", "Items": [{"Name": "a.b", "other": 1}], "x": 2}, source="l")
    assert loose.items[0].name == "a.b"  # the check that refuses dots is an authoring rule
    assert decode(LooseBox, {"items": [{"name": "a", "NAME": "b"}]}, source="l").items[0].name == "a"  # exact first
    assert encode(LooseBox()) == {"kind": "LooseBox", "apiVersion": "eidos.nvidia.com/v1alpha1", "items": []}


def test_numbers_and_booleans_in_text_fields_are_their_text() -> None:
    item = record(Item).read(Reader("t", Mode.FIRST, strict=False), {"name": 7, "note": 1.5, "owner": True}, "")
    assert (item.name, item.note, item.owner) == ("7", "1.5", "true")


def test_merge_rules() -> None:
    base = Item("a", note="n", size=1, tags=("x",), values={"k": {"a": 1}, "l": [1]}, owner="o")
    over = Item("a", size=2, tags=("y", "x"), values={"k": {"b": 2}, "l": [2]})
    merged = merge(base, over)
    assert merged == Item("a", note="n", size=2, tags=("x", "y"), values={"k": {"a": 1, "b": 2}, "l": [2]}, owner="o")
    assert base.values == {"k": {"a": 1}, "l": [1]}  # inputs untouched


def test_json_schema_from_the_declaration() -> None:
    out = record(Box).json_schema()
    assert out["required"] == ["kind", "apiVersion"]
    metadata = out["properties"]["metadata"]
    assert metadata["properties"]["label"] == {"type": "string"}
    item = out["properties"]["items"]["items"]
    assert item["required"] == ["name"]  # output: what is always written
    assert item["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert item["properties"]["size"] == {"type": "integer", "minimum": 0, "maximum": 10}
    assert item["additionalProperties"] is False
    accepted = record(Box).json_schema(output=False)  # input: what is required to read
    assert accepted["properties"]["items"]["items"]["properties"]["note"]["nullable"] is True
