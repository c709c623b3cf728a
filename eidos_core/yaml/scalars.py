"""Scalar values under the YAML 1.2 core schema, as ruamel.yaml resolves them, with the integers
Go's yaml.v3 (the reference) and Helm read differently read as they do.

Plain scalars are typed by their text (null, bool, int, float, else string); quoted and block
scalars are strings. Explicit ``!!str|int|float|bool|null`` tags are honoured; any other tag is
refused, so nothing of the data can ask for a Python object. Timestamps and YAML 1.1's
sexagesimal numbers stay strings. Integers are bounded in digits *before* ``int()`` runs.

A leading zero means octal (``0644`` is 420) and ``0b101`` is binary (5), as yaml.v3 and Helm
read them: a values file's ``defaultMode: 0644`` must reach Helm as the same file mode, not as
decimal 644. A leading zero followed by 8 or 9 (``08``) is the float yaml.v3 makes of it.
"""

from __future__ import annotations

import math
import re
from typing import Any

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (TAG + t for t in ("str", "int", "float", "bool", "null"))

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# What ruamel's YAML 1.2 resolver calls a float or an int ...
_FLOAT_FORM = re.compile(
    r"[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?"
)
_INT_FORM = re.compile(r"[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+")
_INF = re.compile(r"([-+]?)\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
# ... and the forms we turn into numbers; the rest of those (0b101, .5_0) stay text.
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?")
_INT = re.compile(r"[-+]?(?:0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)")
# yaml.v3's readings where YAML 1.2 differs: 0644 (octal), 0b101 (binary), 08 (a float).
_GO_OCTAL = re.compile(r"[-+]?0[0-7_]*[0-7][0-7_]*")
_GO_BINARY = re.compile(r"[-+]?0b[01_]*[01][01_]*")
_GO_FLOAT = re.compile(r"[-+]?0[0-9_]*[89][0-9_]*")


class ScalarError(ValueError):
    """Why a scalar cannot be read; the caller adds the location."""

    def __init__(self, message: str, limit: str = "") -> None:
        super().__init__(message)
        self.limit = limit


def to_int(text: str, max_digits: int) -> int:
    """``text`` (already matched by the int form) as an int, refusing more than ``max_digits``."""
    digits = text.replace("_", "")
    negative = digits.startswith("-")
    body = digits.lstrip("+-")
    base = 10
    if body.startswith(("0o", "0x", "0b")):
        base = {"o": 8, "x": 16, "b": 2}[body[1]]
        body = body[2:]
    elif len(body) > 1 and body.startswith("0"):  # 0644: octal, as yaml.v3 reads it
        base = 8
        body = body[1:]
    if not body:
        raise ScalarError(f"not a number: {text!r}")
    if len(body) > max_digits:
        raise ScalarError(f"integer with {len(body)} digits (at most {max_digits} allowed)", "max_int_digits")
    value = int(body, base)
    return -value if negative else value


def plain_value(text: str, max_digits: int) -> Any:
    """The value of an untagged plain scalar."""
    if text in _NULL:
        return None
    boolean = _BOOL.get(text)
    if boolean is not None:
        return boolean
    first = text[:1]
    if not (first.isdigit() or first in ".-+"):
        return text
    inf = _INF.fullmatch(text)
    if inf:
        return -math.inf if inf.group(1) == "-" else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    if _GO_OCTAL.fullmatch(text) or _GO_BINARY.fullmatch(text):
        return to_int(text, max_digits)
    if _GO_FLOAT.fullmatch(text):
        return float(text.replace("_", ""))
    if _FLOAT_FORM.fullmatch(text):
        return float(text.replace("_", "")) if _FLOAT.fullmatch(text) else text
    if _INT_FORM.fullmatch(text):
        return to_int(text, max_digits) if _INT.fullmatch(text) else text
    return text


def tagged_value(tag: str, text: str, quoted: bool, max_digits: int) -> Any:
    """The value of a scalar with an explicit tag (``!`` is the non-specific one: a string)."""
    if tag in (STR, "!") or quoted:
        if tag not in (STR, "!", INT, FLOAT, BOOL, NULL):
            raise ScalarError(f"unsupported tag {tag}")
        return text
    if tag == NULL:
        if text not in _NULL:
            raise ScalarError(f"{text!r} is not null")
        return None
    if tag == BOOL:
        if text.lower() not in ("true", "false"):
            raise ScalarError(f"{text!r} is not a boolean")
        return text.lower() == "true"
    if tag == INT:
        if not _INT.fullmatch(text):
            raise ScalarError(f"{text!r} is not an integer")
        return to_int(text, max_digits)
    if tag == FLOAT:
        value = plain_value(text, max_digits)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScalarError(f"{text!r} is not a number")
        return float(value)
    raise ScalarError(f"unsupported tag {tag}")
