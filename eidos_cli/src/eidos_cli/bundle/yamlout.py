"""YAML text of bundle files: free-form maps sorted, 2-space indentation.

Helm values have no meaningful key order, so every mapping is sorted — with go-yaml's
"natural" order (``a2`` before ``a10``, uppercase before lowercase), which the reference uses,
so our files line up with its files key for key. Sorting also makes the output independent
of the order values files and flags were merged in.

:func:`dump` is ``eidos_core.yaml.dump`` made fast for bundle-sized data (issue 9 item 10: the
ruamel emitter spent ~1 ms per component, most of a 20,000-component bundle). It writes the
common shapes — mappings, non-empty lists of scalars or mappings, short one-line scalars —
itself, and hands every top-level entry it is not sure of (multi-line text, nested lists,
long or unusual scalars, other types) to ruamel, so its bytes are ruamel's bytes; a
hypothesis test compares the two on arbitrary data.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from eidos_core import yaml


def _digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _natural_less(a: str, b: str) -> bool:
    """go-yaml v3's ``keyList.Less`` for two strings."""
    digits = False
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            digits = _digit(ca)
            continue
        la, lb = ca.isalpha(), cb.isalpha()
        if la and lb:
            return ca < cb
        if la or lb:
            # A letter sorts after a non-letter, except straight after a run of digits.
            return la if digits else lb
        # Both non-letters: compare the digit runs that start here as numbers.
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and _digit(a[j]):
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and _digit(a[ai]):
            an = an * 10 + int(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and _digit(b[bi]):
            bn = bn * 10 + int(b[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _compare(a: Any, b: Any) -> int:
    # Numbers (never bools) before strings, numbers by value; then everything else by text.
    a_num = isinstance(a, int | float) and not isinstance(a, bool)
    b_num = isinstance(b, int | float) and not isinstance(b, bool)
    if a_num and b_num:
        return int(a > b) - int(a < b)
    if a_num != b_num:
        return -1 if a_num else 1
    sa, sb = str(a), str(b)
    if sa == sb:
        return 0
    return -1 if _natural_less(sa, sb) else 1


natural_key = functools.cmp_to_key(_compare)


def sort_keys(value: Any) -> Any:
    """A copy of ``value`` with every mapping's keys in natural order (lists keep their order)."""
    if isinstance(value, Mapping):
        return {k: sort_keys(value[k]) for k in sorted(value, key=natural_key)}
    if isinstance(value, list | tuple):
        return [sort_keys(v) for v in value]
    return value


def dump_values(values: Any) -> str:
    """Sorted YAML text; an empty mapping is ``{}``."""
    return dump(sort_keys(values))


class _Unsure(Exception):
    """This entry is not one the fast writer is certain to spell as ruamel does."""


# Plain in ruamel's block context and read back as the same string by YAML 1.1 and 1.2 readers:
# starts with a letter (or $, as in Argo CD's $values), no ": ", " #", leading, trailing or double
# spaces, no indicator that matters.
_PLAIN = re.compile(r"[A-Za-z$][A-Za-z0-9_./=+@$-]*(?:[: ][A-Za-z0-9_./=+@$-]+)*")
# Words _represent_str quotes (YAML 1.1 booleans and null) or 1.2 resolves to another type.
_DIGITS = re.compile(r"[0-9]+")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+){2,}")
_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_BREAKS = re.compile("[\r\x85\u2028\u2029]")  # YAML line breaks besides \n: ruamel's multi-line rules
_MAX_FAST = 256  # longer scalars may be folded at the dumper's width: ruamel writes those
_MAX_INDENT = 1024


_SCALARS: dict[tuple[type, str], str] = {}  # by type and repr: 0.0 == -0.0 == False as dict keys


def _ruamel_scalar(value: Any) -> str:
    """How ruamel writes a scalar inline (``k: <this>``), when that is one short line."""
    cache_key = (type(value), repr(value))
    text = _SCALARS.get(cache_key)
    if text is None:
        dumped = yaml.dump({"k": value})
        ok = dumped.startswith("k: ") and dumped.count("\n") == 1 and len(dumped) <= _MAX_FAST
        text = dumped[3:-1] if ok and not _BREAKS.search(dumped) else ""
        if len(_SCALARS) < 65536:
            _SCALARS[cache_key] = text
    if not text:
        raise _Unsure
    return text


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        if len(value) <= _MAX_FAST and _PLAIN.fullmatch(value) and value.lower() not in _WORDS:
            return str(value)
        if len(value) <= 64:
            if _DIGITS.fullmatch(value):  # would read back as an int: single-quoted
                return f"'{value}'"
            if _VERSION.fullmatch(value):  # 1.2.3 is no number in YAML 1.1 or 1.2: plain
                return str(value)
    elif kind is int:
        if -(10**18) < value < 10**18:
            return str(value)
    elif kind is bool:
        return "true" if value else "false"
    elif value is None:
        return "null"
    elif kind is not float:
        raise _Unsure  # tuples, Scalar wrappers, …: ruamel decides
    if kind is str and ("\n" in value or len(value) > _MAX_FAST):
        raise _Unsure  # literal blocks and long text depend on the column
    return _ruamel_scalar(value)


def _key(key: Any) -> str:
    # Only keys written plain: ruamel turns some quoted keys into "? key" entries.
    kind = type(key)
    if kind is str and len(key) <= 64 and _PLAIN.fullmatch(key) and key.lower() not in _WORDS:
        return str(key)
    if kind is int or kind is bool or key is None:
        return _scalar(key)
    raise _Unsure


def _mapping(node: dict[Any, Any], indent: int, out: list[str]) -> None:
    if indent > _MAX_INDENT:
        raise _Unsure
    pad = " " * indent
    for key, value in node.items():
        kind = type(value)
        if kind is dict:
            if value:
                out.append(f"{pad}{_key(key)}:\n")
                _mapping(value, indent + 2, out)
            else:
                out.append(f"{pad}{_key(key)}: {{}}\n")
        elif kind is list:
            if value:
                out.append(f"{pad}{_key(key)}:\n")
                _sequence(value, indent + 2, out)
            else:
                out.append(f"{pad}{_key(key)}: []\n")
        else:
            out.append(f"{pad}{_key(key)}: {_scalar(value)}\n")


def _sequence(items: list[Any], indent: int, out: list[str]) -> None:
    # indent(sequence=4, offset=2): the dash 2 in from the parent key, the item 2 further.
    pad = " " * indent
    for item in items:
        kind = type(item)
        if kind is dict:
            if not item:
                out.append(f"{pad}- {{}}\n")
                continue
            start = len(out)
            _mapping(item, indent + 2, out)
            out[start] = f"{pad}- {out[start][indent + 2 :]}"
        elif kind is list:
            raise _Unsure  # nested sequences: rare, and ruamel's layout is subtle
        else:
            out.append(f"{pad}- {_scalar(item)}\n")


def dump(data: Any) -> str:
    """Exactly ``eidos_core.yaml.dump(data)``, in time linear in the output and much faster."""
    if type(data) is not dict or not data:
        return yaml.dump(data)
    # Top-level block mapping entries are written independently of each other, so each entry
    # the fast writer is unsure of goes to ruamel alone.
    parts: list[str] = []
    last = len(data) - 1
    for i, (key, value) in enumerate(data.items()):
        out: list[str] = []
        try:
            _mapping({key: value}, 0, out)
        except _Unsure:
            text = yaml.dump({key: value})
            if i < last and text.endswith("\n...\n"):
                # A "|+" block at the end of a document gets an end marker; mid-document it does not.
                text = text[:-4]
            out = [text]
        parts.append("".join(out))
    return "".join(parts)


def line(key: str, value: Any, indent: str = "") -> str:
    """``key: value`` as the YAML dumper writes it, for hand-assembled files (Chart.yaml); a
    multi-line value's continuation lines are shifted to stay inside the entry."""
    try:
        return f"{indent}{_key(key)}: {_scalar(value)}\n"
    except _Unsure:
        pass
    first, *rest = yaml.dump({key: value}).rstrip("\n").split("\n")
    pad = " " * len(indent)
    return "".join(f"{text}\n" for text in [indent + first, *(pad + r for r in rest)])
