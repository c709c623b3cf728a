"""YAML text of bundle values: free-form maps sorted, 2-space indentation (design.md §3.10).

Helm values have no meaningful key order, so every mapping is sorted — with go-yaml's
"natural" order (``a2`` before ``a10``, uppercase before lowercase), which the reference uses,
so our files line up with its files key for key. Sorting also makes the output independent
of the order values files and flags were merged in.
"""

from __future__ import annotations

import functools
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
    return yaml.dump(sort_keys(values))
