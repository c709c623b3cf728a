"""eidos_core.io.table: aligned tables (wrapped and cut cells, no trailing spaces), the snapshot
and validation-report tables, and durations in one unit (eidos_core.durations.format_in_unit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eidos_core import yaml
from eidos_core.durations import format_in_unit
from eidos_core.io.table import (
    field_rows,
    format_table,
    render_table,
    snapshot_table,
    systemd_value,
    validation_table,
)


def test_format_table_aligns_columns_two_spaces_apart() -> None:
    text = format_table(("A", "LONGER"), [("x", "1"), ("yyyy", "22")])
    assert text.splitlines() == ["A     LONGER", "-     ------", "x     1", "yyyy  22"]


def test_long_cells_wrap_within_their_column_and_continue_aligned() -> None:
    value = "one two three four five six seven"
    text = format_table(("K", "V", "LAST"), [("key", value, "end")], max_widths=(None, 10, None))
    lines = text.splitlines()
    assert lines[2] == "key  one two     end"  # the column is 10 wide
    assert lines[3:] == ["     three four", "     five six", "     seven"]
    assert all(line == line.rstrip() for line in lines)


def test_a_word_longer_than_its_column_is_broken() -> None:
    lines = format_table(("K", "V"), [("k", "x" * 25)], max_widths=(None, 10)).splitlines()
    assert lines[2:] == ["k  xxxxxxxxxx", "   xxxxxxxxxx", "   xxxxx"]


def test_very_long_cells_are_cut_with_a_note() -> None:
    lines = format_table(("K", "V"), [("k", "y" * 30)], max_cell=10).splitlines()
    assert lines[2] == "k  yyyyyyyyyy… (20 more characters)"


def test_multi_line_values_keep_their_lines_under_the_column() -> None:
    lines = format_table(("K", "V"), [("k", "a\nb  \n c")]).splitlines()
    assert lines[2:] == ["k  a", "   b", "    c"]


def test_rows_must_match_the_header() -> None:
    with pytest.raises(ValueError, match="a row has 1 cells for 2 columns"):
        format_table(("A", "B"), [("x",)])


def test_empty_cells_show_as_asked() -> None:
    assert format_table(("A", "B"), [("x", "")], empty="-").splitlines()[2] == "x  -"
    assert format_table(("A", "B"), [("x", "")]).splitlines()[2] == "x"


def test_other_documents_stay_field_value_rows() -> None:
    doc = {"kind": "Snapshot", "b": [{"x": 1}], "a": {"t": True}}  # no measurements: not a snapshot table
    assert render_table(doc).splitlines() == [
        "FIELD    VALUE",
        "-----    -----",
        "a.t      true",
        "b.[0].x  1",
        "kind     Snapshot",
    ]
    assert field_rows({"z": None, "y": []}) == [("y", "[]"), ("z", "<nil>")]


def test_format_in_unit_is_exact_and_fixed() -> None:
    assert [format_in_unit(ns, "ms") for ns in (0, 41_200, 1_500_000, 90_000_000_000)] == [
        "0ms", "0.0412ms", "1.5ms", "90000ms",
    ]  # fmt: skip
    assert format_in_unit(50_000, "s") == "0.00005s" and format_in_unit(-2_000_000_000, "s") == "-2s"
    with pytest.raises(ValueError, match="unit 'm': allowed units are ns, µs, ms, s"):
        format_in_unit(1, "m")


def test_systemd_durations_in_seconds() -> None:
    assert systemd_value("TimeoutStartUSec", 90_000_000) == "90s"
    assert systemd_value("TimerSlackNSec", "50000") == "0.00005s"
    assert systemd_value("RuntimeMaxUSec", 2**64 - 1) == "infinity"
    assert systemd_value("IODeviceLatencyTargetUSec", "[]") == "[]"  # not a number: as written
    assert systemd_value("ActiveEnterTimestamp", 1754471112332254) == "1754471112332254"  # a time, not a duration


SNAPSHOT: dict[str, Any] = {
    "kind": "Snapshot",
    "metadata": {"source-node": "n1", "version": "0.1.0"},
    "measurements": [
        {"type": "SystemD", "subtypes": [{"subtype": "containerd.service", "data": {"RestartUSec": 5_000_000}}]},
        {
            "type": "OS",
            "subtypes": [{"subtype": "release", "data": {"ID": "ubuntu"}}, {"subtype": "empty", "data": {}}],
        },
    ],
}


def test_snapshot_table() -> None:
    lines = render_table(SNAPSHOT).splitlines()
    assert lines[0] == "source-node: n1  version: 0.1.0"
    assert lines[2:] == [
        "TYPE     SUBTYPE             KEY          VALUE",
        "----     -------             ---          -----",
        "SystemD  containerd.service  RestartUSec  5s",
        "OS       release             ID           ubuntu",
        "OS       empty               -            -",
    ]
    assert snapshot_table({"kind": "Snapshot", "measurements": []}) == "no measurements\n"


REPORT: dict[str, Any] = {
    "kind": "ValidationResult",
    "recipeSource": "r.yaml",
    "snapshotSource": "s.yaml",
    "summary": {"passed": 1, "failed": 1, "skipped": 0, "total": 2, "status": "fail", "duration": "41.2µs"},
    "results": [
        {"name": "K8s.server.version", "expected": ">= 1.33", "actual": "v1.32.4", "status": "failed",
         "message": "expected >= 1.33, got v1.32.4"},
        {"name": "OS.release.ID", "expected": "ubuntu", "actual": "", "status": "passed"},
    ],
}  # fmt: skip


def test_validation_table() -> None:
    assert render_table(REPORT).splitlines() == [
        "recipe: r.yaml  snapshot: s.yaml",
        "",
        "CONSTRAINT          EXPECTED  ACTUAL   RESULT  MESSAGE",
        "----------          --------  ------   ------  -------",
        "K8s.server.version  >= 1.33   v1.32.4  failed  expected >= 1.33, got v1.32.4",
        "OS.release.ID       ubuntu    -        passed  -",
        "",
        "fail: 1 passed, 1 failed, 0 skipped of 2 in 0.0412ms",
    ]


def test_validation_table_duration_from_nanoseconds_and_without_messages() -> None:
    report = {**REPORT, "summary": {**REPORT["summary"], "duration": 1_500_000}, "results": REPORT["results"][1:]}
    lines = validation_table(report).splitlines()
    assert lines[2].split() == ["CONSTRAINT", "EXPECTED", "ACTUAL", "RESULT"]
    assert lines[-1].endswith(" in 1.5ms")


def test_reference_snapshot_table(reference_dir: Path) -> None:
    doc = yaml.load((reference_dir / "snapshots" / "h100.yaml").read_text())
    lines = render_table(doc).splitlines()
    assert all(line == line.rstrip() for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("TYPE"))
    value_at = lines[header].index("VALUE")
    rows = [line for line in lines[header + 2 :] if line[:1] != " "]
    assert all(row[value_at - 2 : value_at] == "  " and row[value_at] != " " for row in rows), "VALUE aligned"
    key_at = lines[header].index("KEY")  # a wrapped key or value continues under its own column
    assert all(line[:key_at].strip() == "" for line in lines[header + 2 :] if line[:1] == " "), "continuations"
    assert "SystemD  containerd.service  TimeoutStartUSec" in "\n".join(lines)
    timeout = next(row for row in rows if row.split()[2] == "TimeoutStartUSec")
    assert timeout.split()[-1] == "90s"
    assert max(len(line) for line in lines) <= value_at + 64


def test_tabs_and_control_characters_cannot_break_the_layout() -> None:
    """A tab is spaces (so the column is as wide as the cell looks), other controls are shown
    escaped: a reading cannot move the cursor or colour the terminal."""
    text = format_table(("A", "B"), [("a\tbcdefgh", "x"), ("\x1b[31mred\r", "y\nz")])
    lines = text.splitlines()
    assert lines[2] == "a   bcdefgh    x"  # one line, not wrapped at the tab
    assert lines[3] == "\\x1b[31mred\\r  y" and lines[4].strip() == "z"
    assert "\x1b" not in text and "\r" not in text and "\t" not in text
