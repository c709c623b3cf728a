"""A constraint value as operator + operand: ``>= 1.30``, ``==ubuntu``, ``!= 24.04`` or a bare value.

Operators are tried longest first so ``>=`` is never read as ``>`` with operand ``=...``. The
ordering operators always compare versions; ``==``/``!=`` compare versions only when the
operand looks like one (a digit and a dot after an optional ``v``); a bare value is an exact,
case-sensitive string match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import Operator, split_operator

__all__ = ["Expression", "Operator", "looks_like_version", "parse_expression"]

_DIGIT = re.compile(r"[0-9]")


@dataclass(frozen=True, slots=True)
class Expression:
    operator: Operator
    value: str
    version_like: bool

    def __str__(self) -> str:
        return f"{self.operator} {self.value}" if self.operator else self.value


def looks_like_version(value: str) -> bool:
    body = value[1:] if value.startswith("v") else value
    return "." in body and _DIGIT.search(body) is not None


def parse_expression(text: str) -> Expression:
    """The operator (:func:`split_operator`, the one reading of constraint syntax) and operand."""
    if not text.strip():
        raise InvalidRequestError("constraint expression cannot be empty")
    op, value = split_operator(text)
    if not value:
        raise InvalidRequestError(f"constraint value cannot be empty after operator {op.value!r}")
    return Expression(op, value, version_like=op.orders or looks_like_version(value))
