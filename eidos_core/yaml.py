"""The one YAML loader and dumper of Eidos (ruamel.yaml, YAML 1.2 core schema only).

* ``1.10`` is a float under YAML 1.2 but recipe data means the *text*: ``load(..., raw=True)``
  keeps every scalar as a :class:`Scalar` with its literal text and line, so string-typed
  fields can take the text verbatim while typed fields (Helm ``overrides``) take the value.
* Aliases are expanded with a budget (a "billion laughs" document is an error, not an OOM).
* Duplicate mapping keys are errors, as in Go's yaml.v3.
* Output is block style with 2-space indentation, insertion order kept, and strings that
  would read back as another type quoted.
"""

from __future__ import annotations

import io
import math
import re
import threading
from dataclasses import dataclass
from typing import Any

import ruamel.yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.representer import SafeRepresenter

from eidos_core.errors import InvalidRequestError

# Nodes that alias expansion may add on top of what the document spells out.
MAX_ALIAS_NODES = 10_000
MAX_DEPTH = 256

_TAG = "tag:yaml.org,2002:"
_INT_RE = re.compile(r"[-+]?(0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$")
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class Scalar:
    """A scalar read in raw mode: its YAML 1.2 value, its literal text and its 1-based line."""

    value: Any
    text: str
    line: int


class YamlSyntaxError(InvalidRequestError):
    """A document that is not valid YAML (or uses what we refuse), located by line/column."""

    def __init__(self, source: str, message: str, line: int | None = None, column: int | None = None) -> None:
        where = source
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}", details={"file": source, "line": line, "column": column})
        self.source = source
        self.line = line
        self.column = column
        self.reason = message


_local = threading.local()


def _yaml() -> YAML:
    # YAML instances keep parser state, so one per thread.
    inst: YAML | None = getattr(_local, "yaml", None)
    if inst is None:
        # libyaml's parser (ruamel.yaml.clib) when present: about five times faster.
        inst = YAML(typ="safe", pure=not ruamel.yaml.__with_libyaml__)
        _local.yaml = inst
    return inst


def _scalar_value(node: ScalarNode, source: str) -> Any:
    tag = str(node.tag)
    text = str(node.value)
    if tag == _TAG + "str" or node.style in ("'", '"', "|", ">"):
        return text
    if tag == _TAG + "null":
        return None
    if tag == _TAG + "bool":
        return text.lower() == "true"
    if tag == _TAG + "int" and _INT_RE.match(text):
        digits = text.replace("_", "")
        sign = -1 if digits.startswith("-") else 1
        body = digits.lstrip("+-")
        if body.startswith("0o"):
            return sign * int(body[2:], 8)
        if body.startswith("0x"):
            return sign * int(body[2:], 16)
        return sign * int(body, 10)
    if tag == _TAG + "float":
        low = text.lower()
        if low in (".inf", "+.inf"):
            return math.inf
        if low == "-.inf":
            return -math.inf
        if low == ".nan":
            return math.nan
        if _FLOAT_RE.match(text):
            return float(text.replace("_", ""))
    if tag in (_TAG + "timestamp", _TAG + "int", _TAG + "float"):
        # timestamps, sexagesimal numbers and friends are plain strings in YAML 1.2 core
        return text
    raise YamlSyntaxError(source, f"unsupported tag {tag}", node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node graph into plain Python data, guarding alias expansion."""

    def __init__(self, source: str, raw: bool) -> None:
        self.source = source
        self.raw = raw
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.alias_nodes = 0

    def fail(self, node: Node, message: str) -> YamlSyntaxError:
        return YamlSyntaxError(self.source, message, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: Node, depth: int = 0, in_alias: bool = False) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"document nests deeper than {MAX_DEPTH} levels")
        key = id(node)
        if key in self.active:
            raise self.fail(node, "recursive alias")
        if key in self.seen:
            in_alias = True
        self.seen.add(key)
        if in_alias:
            self.alias_nodes += 1
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise self.fail(node, f"aliases expand to more than {MAX_ALIAS_NODES} nodes (alias bomb?)")
        if isinstance(node, ScalarNode):
            value = _scalar_value(node, self.source)
            return Scalar(value, str(node.value), node.start_mark.line + 1) if self.raw else value
        self.active.add(key)
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, depth + 1, in_alias) for item in node.value]
            if isinstance(node, MappingNode):
                return self.build_mapping(node, depth, in_alias)
        finally:
            self.active.discard(key)
        raise self.fail(node, f"unsupported node {type(node).__name__}")

    def build_mapping(self, node: MappingNode, depth: int, in_alias: bool) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and str(key_node.tag) == _TAG + "merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for src in sources:
                    part = self.build(src, depth + 1, in_alias)
                    if not isinstance(part, dict):
                        raise self.fail(src, "merge key '<<' needs a mapping")
                    for k, v in part.items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "mapping keys must be scalars")
            k = _scalar_value(key_node, self.source)
            if isinstance(k, float) and math.isnan(k):
                raise self.fail(key_node, "NaN cannot be a mapping key")
            if k in result:
                raise self.fail(key_node, f"duplicate key {key_node.value!r}")
            result[k] = self.build(value_node, depth + 1, in_alias)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


def load(text: str | bytes, *, source: str = "<input>", raw: bool = False) -> Any:
    """Parse exactly one YAML document (an empty document is ``None``)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise YamlSyntaxError(source, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        nodes = list(_yaml().compose_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        raise YamlSyntaxError(source, reason, line, col) from None
    except YAMLError as exc:
        raise YamlSyntaxError(source, str(exc)) from None
    if len(nodes) > 1:
        raise YamlSyntaxError(source, f"expected one YAML document, found {len(nodes)}")
    if not nodes or nodes[0] is None:
        return None
    return _Builder(source, raw).build(nodes[0])


def plain(value: Any) -> Any:
    """Strip raw-mode :class:`Scalar` wrappers, giving ordinary Python data."""
    if isinstance(value, Scalar):
        return value.value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_YAML11_OTHER = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ]|$)")


def _represent_str(representer: SafeRepresenter, value: str) -> ScalarNode:
    # Multi-line text (values files, manifests, notes) reads best as a literal block; the
    # emitter falls back to quoting when the text cannot be a block (e.g. trailing spaces).
    style = "|" if "\n" in value else None
    if value.lower() in _YAML11_WORDS or _YAML11_OTHER.match(value):
        # YAML 1.1 readers (Helm, go-yaml v2) would read these as booleans, null, base-60
        # numbers (12:30 → 750) or timestamps.
        style = '"'
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Representer(SafeRepresenter):
    pass


_Representer.add_representer(str, _represent_str)


def _dumper() -> YAML:
    inst: YAML | None = getattr(_local, "dumper", None)
    if inst is None:
        inst = YAML(typ="safe", pure=True)
        inst.Representer = _Representer
        inst.default_flow_style = False
        inst.indent(mapping=2, sequence=4, offset=2)
        inst.width = 4096
        inst.allow_unicode = True
        inst.representer.sort_base_mapping_type_on_output = False
        _local.dumper = inst
    return inst


def dump(data: Any) -> str:
    """Serialise ``data`` as one block-style YAML document."""
    buf = io.StringIO()
    _dumper().dump(plain(data), buf)
    return buf.getvalue()
