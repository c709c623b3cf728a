"""The ``table`` output of a diff: one aligned row per change, then a summary line.

Columns ``CHANGE  PATH  OLD  NEW``; ``-`` where a side has no value (added, removed). Values
are text (Go's ``%v``), an empty string as ``""``, lists and mappings as compact JSON, a line
break as ``\\n``; a value longer than :data:`MAX_VALUE` characters is cut with ``…`` (``-t yaml``
and ``-t json`` carry it whole). Written here rather than with :mod:`eidos_core.io.table`, whose
``FIELD  VALUE`` rows flatten a document rather than lay out columns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from eidos_core.codec import scalar_text
from eidos_core.diff.model import MISSING, ChangeKind, Diff

MAX_VALUE = 60
HEADER = ("CHANGE", "PATH", "OLD", "NEW")
ABSENT = "-"


def cell(value: Any) -> str:
    if value is MISSING:
        return ABSENT
    if isinstance(value, Mapping | list | tuple):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    elif value == "" and isinstance(value, str):
        text = '""'
    else:
        text = scalar_text(value)
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def summary_line(diff: Diff) -> str:
    counts = [f"{diff.count(kind)} {kind}" for kind in (ChangeKind.CHANGED, ChangeKind.ADDED, ChangeKind.REMOVED)]
    line = ", ".join(counts) if diff.changes else "no differences"
    if diff.ignored:
        line += f" ({diff.ignored} ignored: {', '.join(diff.ignore)})"
    return line


def render_diff_table(diff: Diff) -> str:
    if not diff.changes:
        return summary_line(diff) + "\n"
    rows = [HEADER, *((str(c.kind), c.path, cell(c.old), cell(c.new)) for c in diff.changes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    lines = ["  ".join([*(text.ljust(w) for text, w in zip(row, widths, strict=False)), row[-1]]) for row in rows]
    return "\n".join(lines) + "\n\n" + summary_line(diff) + "\n"
