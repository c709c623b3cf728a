"""The ``table`` output format: a document flattened to sorted ``FIELD  VALUE`` rows.

Paths join mapping keys with ``.`` and list items as ``[i]`` (``measurements.[0].type``), so a
reader can grep one value out of a snapshot without a YAML tool. Write-only: tables are not
read back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def _rows(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        if not value and path:
            yield path, "{}"
        for key, child in value.items():
            yield from _rows(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        if not value and path:
            yield path, "[]"
        for index, child in enumerate(value):
            yield from _rows(child, f"{path}.[{index}]" if path else f"[{index}]")
    elif value is None:
        yield path, "<nil>"
    elif isinstance(value, bool):
        yield path, "true" if value else "false"
    else:
        yield path, str(value)


def render_table(doc: Any) -> str:
    rows = sorted(_rows(doc, ""), key=lambda row: row[0].encode())
    if not rows:
        return "<empty>\n"
    width = max(len("FIELD"), *(len(field) for field, _ in rows)) + 2
    lines = [f"{'FIELD':<{width}}VALUE", f"{'-----':<{width}}-----"]
    lines += [f"{field:<{width}}{value}" for field, value in rows]
    return "\n".join(lines) + "\n"
