"""The ``table`` output format: documents as aligned, plain-text tables for people.

:func:`render_table` picks the table by document kind: a snapshot is one row a reading (TYPE,
SUBTYPE, KEY, VALUE), a validation report one row a constraint (CONSTRAINT, EXPECTED, ACTUAL,
RESULT) under a summary line; any other document is flattened to sorted ``FIELD  VALUE`` rows,
paths joining mapping keys with ``.`` and list items as ``[i]`` (``measurements.[0].type``), so
a reader can grep one value out without a YAML tool. :func:`format_table` lays out any rows:
columns two spaces apart, a long cell wrapped within its column's width (or cut at
:data:`MAX_CELL` characters with a note of how much was left out), no trailing spaces.
Durations are printed in one unit a table (seconds for systemd's ``…USec``/``…NSec``
properties, milliseconds for a validation run). Write-only: tables are not read back.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from eidos_core.codec import scalar_text
from eidos_core.durations import format_in_unit, parse_duration
from eidos_core.errors import InvalidRequestError

# A cell longer than this is cut: the table stays readable; yaml/json carry the whole value.
MAX_CELL = 400
GAP = "  "
EMPTY = "-"  # an empty cell, so no row looks cut short
# systemd writes "no limit" as the largest unsigned 64-bit number (USEC_INFINITY).
SYSTEMD_INFINITY = 2**64 - 1
# systemd properties whose integer value is a duration, and nanoseconds per unit of it.
SYSTEMD_DURATION_SUFFIXES = {"USec": 1_000, "NSec": 1}
SNAPSHOT_KIND = "Snapshot"  # eidos_core.snapshot.model's; not imported, to keep io free of models
REPORT_KIND = "ValidationResult"  # eidos_core.validate.report's


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
    else:
        yield path, scalar_text(value)


def field_rows(doc: Any) -> list[tuple[str, str]]:
    """The document flattened to ``(path, value)`` pairs, sorted by path."""
    return sorted(_rows(doc, ""), key=lambda row: row[0].encode())


# C0 controls and DEL shown escaped: a value must not move the cursor or colour the terminal.
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F] if chr(c) not in "\n"}
_CONTROLS[ord("\r")] = "\\r"


def _printable(text: str) -> str:
    """Tabs as spaces (their width is then the cell's width), other controls escaped."""
    return text.expandtabs(4).translate(_CONTROLS)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def _cell_lines(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if len(line) <= width:
            lines.append(line)
        else:  # at spaces where there are some, else mid-word: a path or digest has none
            lines.extend(textwrap.wrap(line, width, break_long_words=True, break_on_hyphens=False) or [""])
    return lines


def format_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    max_widths: Sequence[int | None] = (),
    max_cell: int = MAX_CELL,
    empty: str = "",
) -> str:
    """Rows under a header and a ``-----`` rule, columns aligned two spaces apart.

    ``max_widths[i]`` (``None``: unbounded) wraps column ``i``'s longer cells onto more lines;
    an empty cell shows as ``empty``; the last column is never padded, and no line ends in spaces.
    """
    cells = [[_printable(_cut(str(c), max_cell)) or empty for c in row] for row in rows]
    for row in cells:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells for {len(header)} columns: {row!r}")
    widths: list[int] = []
    for i, title in enumerate(header):
        natural = max([len(title), *(len(line) for row in cells for line in row[i].splitlines())])
        cap = max_widths[i] if i < len(max_widths) else None
        widths.append(max(len(title), min(natural, cap)) if cap else natural)
    lines = [_join(header, widths), _join(["-" * len(title) for title in header], widths)]
    for row in cells:
        wrapped = [_cell_lines(cell, width) for cell, width in zip(row, widths, strict=True)]
        for k in range(max(len(w) for w in wrapped)):
            lines.append(_join([w[k] if k < len(w) else "" for w in wrapped], widths))
    return "\n".join(lines) + "\n"


def _join(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths, strict=False)]
    return GAP.join([*padded, cells[-1]]).rstrip()


def systemd_value(key: str, value: Any) -> str:
    """A reading's value; a systemd duration property (``TimeoutStartUSec``) in seconds."""
    for suffix, ns_per_unit in SYSTEMD_DURATION_SUFFIXES.items():
        text = scalar_text(value)
        if key.endswith(suffix) and text.isdigit():
            number = int(text)
            return "infinity" if number == SYSTEMD_INFINITY else format_in_unit(number * ns_per_unit, "s")
    return scalar_text(value)


def _metadata_line(metadata: Any) -> str:
    if not isinstance(metadata, Mapping) or not metadata:
        return ""
    return "  ".join(f"{key}: {scalar_text(value) or EMPTY}" for key, value in metadata.items()) + "\n\n"


def snapshot_table(doc: Mapping[str, Any]) -> str:
    """A snapshot: its metadata on one line, then TYPE, SUBTYPE, KEY, VALUE a reading."""
    rows: list[tuple[str, str, str, str]] = []
    for measurement in doc.get("measurements") or []:
        if not isinstance(measurement, Mapping):
            continue
        kind = scalar_text(measurement.get("type"))
        for subtype in measurement.get("subtypes") or []:
            if not isinstance(subtype, Mapping):
                continue
            name = scalar_text(subtype.get("subtype"))
            data = subtype.get("data")
            if not isinstance(data, Mapping) or not data:
                rows.append((kind, name, EMPTY, EMPTY))
                continue
            for key, value in data.items():
                shown = systemd_value(key, value) if kind == "SystemD" else scalar_text(value)
                rows.append((kind, name, str(key), shown))
    if not rows:
        return _metadata_line(doc.get("metadata")) + "no measurements\n"
    table = format_table(("TYPE", "SUBTYPE", "KEY", "VALUE"), rows, max_widths=(None, 40, 56, 64), empty=EMPTY)
    return _metadata_line(doc.get("metadata")) + table


def duration_ns(value: Any) -> int:
    """A report's duration: integer nanoseconds (the JSON form) or Go's text (``41.2µs``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return round(parse_duration("duration", str(value)) * 1e9)
    except InvalidRequestError:
        return 0


def validation_table(doc: Mapping[str, Any]) -> str:
    """A validation report: CONSTRAINT, EXPECTED, ACTUAL, RESULT a constraint (and MESSAGE
    when some result has one), then the summary with the run's duration in milliseconds."""
    results = [r for r in doc.get("results") or [] if isinstance(r, Mapping)]
    with_message = any(r.get("message") for r in results)
    header = ["CONSTRAINT", "EXPECTED", "ACTUAL", "RESULT"] + (["MESSAGE"] if with_message else [])
    rows = []
    for r in results:
        row = [scalar_text(r.get(k, "")) for k in ("name", "expected", "actual", "status")]
        rows.append(row + ([scalar_text(r.get("message", ""))] if with_message else []))
    summary = doc.get("summary") if isinstance(doc.get("summary"), Mapping) else {}
    assert isinstance(summary, Mapping)
    counts = ", ".join(f"{summary.get(k, 0)} {k}" for k in ("passed", "failed", "skipped"))
    took = format_in_unit(duration_ns(summary.get("duration", 0)), "ms")
    tail = (
        f"\n{scalar_text(summary.get('status', EMPTY))}: {counts} of {summary.get('total', len(results))} in {took}\n"
    )
    sources = {"recipe": doc.get("recipeSource"), "snapshot": doc.get("snapshotSource")}
    head = _metadata_line({label: source for label, source in sources.items() if source})
    if not rows:
        return head + "no constraints\n" + tail
    return head + format_table(header, rows, max_widths=(48, 24, 32, None, 60), empty=EMPTY) + tail


def render_table(doc: Any) -> str:
    if isinstance(doc, Mapping):
        if doc.get("kind") == SNAPSHOT_KIND and isinstance(doc.get("measurements"), list):
            return snapshot_table(doc)
        if doc.get("kind") == REPORT_KIND and isinstance(doc.get("results"), list):
            return validation_table(doc)
    rows = field_rows(doc)
    if not rows:
        return "<empty>\n"
    return format_table(("FIELD", "VALUE"), rows)
