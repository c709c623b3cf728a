"""A constraint value as operator + operand: ``>= 1.30``, ``==ubuntu``, ``!= 24.04`` or a bare value.

Operators are tried longest first so ``>=`` is never read as ``>`` with operand ``=...``. The
ordering operators always compare versions; ``==``/``!=`` compare versions only when the
operand looks like one (a digit and a dot after an optional ``v``); a bare value is an exact,
case-sensitive string match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from eidos_core.errors import InvalidRequestError


class Operator(StrEnum):
    GE = ">="
    LE = "<="
    NE = "!="
    EQ = "=="
    GT = ">"
    LT = "<"
    EXACT = ""

    @property
    def orders(self) -> bool:
        return self in (Operator.GE, Operator.LE, Operator.GT, Operator.LT)


# Prefix test order matters: two-character operators first.
PREFIXES: tuple[Operator, ...] = (Operator.GE, Operator.LE, Operator.NE, Operator.EQ, Operator.GT, Operator.LT)
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
    expr = text.strip()
    if not expr:
        raise InvalidRequestError("constraint expression cannot be empty")
    for op in PREFIXES:
        if expr.startswith(op.value):
            value = expr[len(op.value) :].strip()
            if not value:
                raise InvalidRequestError(f"constraint value cannot be empty after operator {op.value!r}")
            return Expression(op, value, version_like=op.orders or looks_like_version(value))
    return Expression(Operator.EXACT, expr, version_like=looks_like_version(expr))
