"""Render a component's extra manifests at bundle time, for the namespace the plan gives it.

Recipe data writes extra manifests as Helm templates (``{{ .Release.Namespace }}``, a
condition on ``.Values``), as the reference's umbrella chart did. A bundle ships them
rendered — plain YAML that ``kubectl apply`` and Argo CD take as is — so this module evaluates
the small subset of Go templates (plus Sprig functions) that manifests use:

* text, ``{{ pipeline }}``, ``{{- … -}}`` whitespace trimming, ``{{/* comments */}}``;
* ``if`` / ``else if`` / ``else`` / ``end``, ``$var := pipeline``;
* fields ``.Values.a.b``, ``.Release.Namespace``, ``.Release.Name``, ``$``, ``$var.a``;
* string, number and boolean literals, ``( pipeline )``, ``|`` pipes;
* functions ``index default dict eq ne not and or toString quote squote lower upper trim``.

Anything else (``range``, ``with``, ``include``, ``toYaml`` …) is an error naming the file and
the construct: a manifest rendered wrongly in silence would be installed wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eidos_core.errors import InvalidRequestError

_ACTION = re.compile(r"\{\{(-[ \t\r\n])?(.*?)([ \t\r\n]-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
    | (?P<num>-?[0-9]+(?:\.[0-9]+)?)
    | (?P<field>(?:\$[A-Za-z0-9_]*)?(?:\.[A-Za-z0-9_]+)+|\.)
    | (?P<var>\$[A-Za-z0-9_]*)
    | (?P<assign>:=)
    | (?P<punct>[|()])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


class TemplateError(InvalidRequestError):
    pass


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str


def _tokens(text: str, where: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise TemplateError(f"{where}: cannot read template action {{{{ {text.strip()} }}}}")
        kind = m.lastgroup or ""
        out.append(_Tok(kind, m.group(kind)))
        pos = m.end()
    return out


# Nodes: ("text", str) | ("out", pipeline) | ("set", name, pipeline) | ("if", [(cond, body)], else_body)
_Node = tuple[Any, ...]


def _pieces(source: str) -> list[tuple[str, str]]:
    """The template as alternating ("text", s) and ("action", s), with ``{{-``/``-}}`` trimming
    applied to the text beside them."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    for m in _ACTION.finditer(source):
        text = source[pos : m.start()]
        if trim_next:
            text = text.lstrip()
        if m.group(1):
            text = text.rstrip()
        pieces.append(("text", text))
        pieces.append(("action", m.group(2).strip()))
        trim_next = bool(m.group(3))
        pos = m.end()
    tail = source[pos:]
    pieces.append(("text", tail.lstrip() if trim_next else tail))
    return pieces


def _parse(source: str, where: str) -> list[_Node]:
    """The template as a node tree."""
    root: list[_Node] = []
    # Stack of open ``if`` blocks: (branches, current body, else body or None).
    stack: list[tuple[list[tuple[list[_Tok], list[_Node]]], list[_Node] | None]] = []

    def body() -> list[_Node]:
        if not stack:
            return root
        branches, otherwise = stack[-1]
        return otherwise if otherwise is not None else branches[-1][1]

    for kind, text in _pieces(source):
        if kind == "text":
            if text:
                body().append(("text", text))
            continue
        if text.startswith("/*"):
            if not text.endswith("*/"):
                raise TemplateError(f"{where}: unterminated comment")
            continue
        toks = _tokens(text, where)
        if not toks:
            raise TemplateError(f"{where}: empty action {{{{}}}}")
        head = toks[0]
        if head.kind == "ident" and head.text == "if":
            new: list[_Node] = []
            stack.append(([(toks[1:], new)], None))
        elif head.kind == "ident" and head.text == "else":
            if not stack or stack[-1][1] is not None:
                raise TemplateError(f"{where}: 'else' outside an 'if'")
            branches, _ = stack.pop()
            if len(toks) > 1 and toks[1].text == "if":
                branches.append((toks[2:], []))
                stack.append((branches, None))
            else:
                stack.append((branches, []))
        elif head.kind == "ident" and head.text == "end":
            if not stack:
                raise TemplateError(f"{where}: 'end' without a block")
            branches, otherwise = stack.pop()
            body().append(("if", branches, otherwise or []))
        elif head.kind == "ident" and head.text in ("range", "with", "define", "template", "block", "break"):
            raise TemplateError(f"{where}: {{{{ {head.text} }}}} is not supported in extra manifests")
        elif head.kind == "var" and len(toks) > 1 and toks[1].kind == "assign":
            body().append(("set", head.text, toks[2:]))
        else:
            body().append(("out", toks))
    if stack:
        raise TemplateError(f"{where}: an 'if' is not closed with {{{{ end }}}}")
    return root


def _empty(value: Any) -> bool:
    return value is None or value is False or value == 0 or (isinstance(value, (str, list, dict)) and not value)


def _text(value: Any) -> str:
    """What Go's ``%v`` (and Helm, which shows a missing value as nothing) prints."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def _dict(*items: Any) -> dict[Any, Any]:
    return {_text(items[i]): items[i + 1] if i + 1 < len(items) else "" for i in range(0, len(items), 2)}


def _and(*args: Any) -> Any:
    for arg in args:
        if _empty(arg):
            return arg
    return args[-1] if args else None


def _or(*args: Any) -> Any:
    for arg in args:
        if not _empty(arg):
            return arg
    return args[-1] if args else None


_FUNCS: dict[str, Callable[..., Any]] = {
    "index": _index,
    "default": lambda fallback, *value: fallback if not value or _empty(value[-1]) else value[-1],
    "dict": _dict,
    "eq": lambda a, *others: any(a == b for b in others),
    "ne": lambda a, b: a != b,
    "not": _empty,
    "and": _and,
    "or": _or,
    "toString": _text,
    "quote": lambda *v: " ".join('"' + _text(x).replace("\\", "\\\\").replace('"', '\\"') + '"' for x in v),
    "squote": lambda *v: " ".join("'" + _text(x) + "'" for x in v),
    "lower": lambda v: _text(v).lower(),
    "upper": lambda v: _text(v).upper(),
    "trim": lambda v: _text(v).strip(),
}


class _Eval:
    def __init__(self, root: Mapping[str, Any], where: str) -> None:
        self.root = root
        self.vars: dict[str, Any] = {"$": root}
        self.where = where

    def pipeline(self, toks: Sequence[_Tok]) -> Any:
        value, rest = self._pipeline(list(toks), 0)
        if rest != len(toks):
            raise TemplateError(f"{self.where}: unexpected {toks[rest].text!r} in a template action")
        return value

    def _pipeline(self, toks: list[_Tok], pos: int) -> tuple[Any, int]:
        value: Any = None
        first = True
        while True:
            args: list[Any] = []
            name = ""
            if pos < len(toks) and toks[pos].kind == "ident" and toks[pos].text not in ("true", "false", "nil"):
                name = toks[pos].text
                if name not in _FUNCS:
                    raise TemplateError(f"{self.where}: function {name!r} is not supported in extra manifests")
                pos += 1
            while pos < len(toks) and not (toks[pos].kind == "punct" and toks[pos].text in "|)"):
                arg, pos = self._operand(toks, pos)
                args.append(arg)
            if not first:
                args.append(value)
            if name:
                value = _FUNCS[name](*args)
            elif len(args) == 1:
                value = args[0]
            else:
                raise TemplateError(f"{self.where}: cannot evaluate a template action with {len(args)} values")
            first = False
            if pos < len(toks) and toks[pos].text == "|":
                pos += 1
                continue
            return value, pos

    def _operand(self, toks: list[_Tok], pos: int) -> tuple[Any, int]:
        tok = toks[pos]
        if tok.text == "(":
            value, pos = self._pipeline(toks, pos + 1)
            if pos >= len(toks) or toks[pos].text != ")":
                raise TemplateError(f"{self.where}: unclosed '(' in a template action")
            return value, pos + 1
        if tok.kind == "str":
            if tok.text.startswith("`"):
                return tok.text[1:-1], pos + 1
            return re.sub(
                r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), tok.text[1:-1]
            ), pos + 1
        if tok.kind == "num":
            return (float(tok.text) if "." in tok.text else int(tok.text)), pos + 1
        if tok.kind == "ident" and tok.text in ("true", "false", "nil"):
            return {"true": True, "false": False, "nil": None}[tok.text], pos + 1
        if tok.kind in ("field", "var"):
            return self._field(tok.text), pos + 1
        if tok.kind == "ident" and tok.text in _FUNCS:
            return _FUNCS[tok.text](), pos + 1  # a function as an argument is called with none (``default dict``)
        raise TemplateError(f"{self.where}: unexpected {tok.text!r} in a template action")

    def _field(self, text: str) -> Any:
        if text == ".":
            return self.root
        base: Any = self.root
        if text.startswith("$"):
            name, _, text = text.partition(".")
            if name not in self.vars:
                raise TemplateError(f"{self.where}: undefined variable {name}")
            base = self.vars[name]
            if not text:
                return base
            text = "." + text
        return _index(base, *text[1:].split("."))

    def run(self, nodes: Sequence[_Node], out: list[str]) -> None:
        for node in nodes:
            if node[0] == "text":
                out.append(node[1])
            elif node[0] == "out":
                out.append(_text(self.pipeline(node[1])))
            elif node[0] == "set":
                self.vars[node[1]] = self.pipeline(node[2])
            else:
                for cond, body in node[1]:
                    if not _empty(self.pipeline(cond)):
                        self.run(body, out)
                        break
                else:
                    self.run(node[2], out)


def render_template(source: str, context: Mapping[str, Any], where: str) -> str:
    """``source`` evaluated against ``context`` (``{"Values": …, "Release": {…}}``)."""
    if "{{" not in source:
        return source  # plain YAML already: the common case, and the fast one
    out: list[str] = []
    _Eval(context, where).run(_parse(source, where), out)
    return "".join(out)


_CONTENT = re.compile(r"^(?!\s*(#|---\s*$|\.\.\.\s*$)).*\S", re.MULTILINE)


def has_objects(text: str) -> bool:
    """Whether rendered YAML holds anything but blank lines, comments and document markers."""
    return _CONTENT.search(text) is not None
