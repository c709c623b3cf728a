from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from eidos_core.errors import EidosError, InvalidRequestError, NotFoundError, UnavailableError
from eidos_core.io.documents import read_document, write_document
from eidos_core.io.local import write_file_atomic
from eidos_core.io.uri import Location, Scheme, parse_uri


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-", Location(Scheme.STDIO)),
        ("", Location(Scheme.STDIO)),
        ("snap.yaml", Location(Scheme.FILE, path="snap.yaml")),
        ("/tmp/a b.json", Location(Scheme.FILE, path="/tmp/a b.json")),
        (
            "cm://gpu-operator/eidos-snapshot",
            Location(Scheme.CONFIGMAP, namespace="gpu-operator", name="eidos-snapshot"),
        ),
        ("cm://ns/name/snapshot.yaml", Location(Scheme.CONFIGMAP, namespace="ns", name="name", key="snapshot.yaml")),
        ("https://example.com/r.yaml", Location(Scheme.HTTP, path="https://example.com/r.yaml")),
    ],
)
def test_parse(text: str, expected: Location) -> None:
    assert parse_uri(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("cm://", "expected cm://namespace/name"),
        ("cm://ns", "expected cm://namespace/name"),
        ("cm://ns/", "expected cm://namespace/name"),
        ("cm:///name", "expected cm://namespace/name"),
        ("cm://Bad_NS/x", "not a valid namespace name"),
        ("cm://ns/x/y/z", "expected cm://namespace/name"),
        ("cm://ns/x/bad key", "may only contain"),
        ("s3://bucket/x", "unsupported URI scheme 's3'"),
    ],
)
def test_bad_uris(text: str, needle: str) -> None:
    with pytest.raises(InvalidRequestError, match=needle):
        parse_uri(text)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    write_file_atomic(str(target), b"new\n")
    assert target.read_text() == "new\n"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["out.yaml"]


def test_atomic_write_into_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        write_file_atomic(str(tmp_path / "nope" / "x.yaml"), b"x")


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "keep.yaml"
    target.write_text("precious\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(UnavailableError, match="keep.yaml: disk full"):
        write_file_atomic(str(target), b"half")
    assert target.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.yaml"]


async def test_documents_round_trip_files_and_stdio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {"kind": "Snapshot", "metadata": {"version": "1.10"}, "measurements": []}
    path = str(tmp_path / "s.json")
    await write_document(path, doc, component="snapshot", fmt="json")
    assert await read_document(path) == doc
    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out))
    await write_document("-", doc, component="snapshot")
    sys.stdout.flush()
    assert b"version: '1.10'" in out.getvalue()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(out.getvalue())))
    assert await read_document("-") == doc


async def test_read_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        await read_document(str(tmp_path / "missing.yaml"))
    empty = tmp_path / "empty.yaml"
    empty.write_text("  \n")
    with pytest.raises(InvalidRequestError, match="empty document"):
        await read_document(str(empty))
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    with pytest.raises(InvalidRequestError, match=r"bad.yaml:2"):
        await read_document(str(bad))
    with pytest.raises(InvalidRequestError, match="read-only"):
        await write_document("http://127.0.0.1:1/x", {}, component="recipe")


async def test_http_unreachable_is_unavailable() -> None:
    with pytest.raises(EidosError) as info:
        await read_document("http://127.0.0.1:9/nothing.yaml")
    assert info.value.exit_code == 6


async def test_json_documents_read_as_json(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"kind": "Snapshot", "metadata": {"note": "\\ud83d\\ude00", "v": "1.10"}, "measurements": []}')
    doc = await read_document(str(path))
    assert doc["metadata"] == {"note": "\U0001f600", "v": "1.10"}
    path.write_text('{"kind": "Snapshot",\n "measurements": [}\n')
    with pytest.raises(InvalidRequestError, match=r"s.json:2:"):  # broken JSON: YAML's located error
        await read_document(str(path))
