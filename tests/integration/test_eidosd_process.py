"""eidosd started as its console script on a real socket, driven over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from eidos_core.recipe.criteria import ANY

# The console script next to the running interpreter (the venv need not be on PATH).
EIDOSD = shutil.which("eidosd", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def start_eidosd(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> str:
        assert EIDOSD, "eidosd console script is not installed"
        port = free_port()
        proc = subprocess.Popen(
            [EIDOSD],
            env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1", **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"eidosd exited {proc.returncode}: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                urllib.request.urlopen(base + "/", timeout=1).close()
                return base
            except OSError:
                time.sleep(0.05)
        raise AssertionError("eidosd did not start")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_serves_embedded_recipes(start_eidosd) -> None:  # type: ignore[no-untyped-def]
    base = start_eidosd()
    status, doc = get(base + "/v1/recipe?service=eks&accelerator=h100&os=ubuntu&intent=training")
    assert status == 200
    assert doc["kind"] == "recipeResult"
    assert doc["criteria"] == {"service": "eks", "accelerator": "h100", "intent": "training", "os": "ubuntu"}
    status, doc = get(base + "/v1/recipe?gpu=gb200")
    assert doc["criteria"]["accelerator"] == "gb200" and doc["criteria"]["service"] == ANY  # type: ignore[index]


def test_bad_input_is_400_naming_field(start_eidosd) -> None:  # type: ignore[no-untyped-def]
    base = start_eidosd()
    status, doc = get(base + "/v1/recipe?os=windows")
    assert status == 400
    assert doc["details"]["field"] == "os"  # type: ignore[index]
    assert "ubuntu" in doc["details"]["allowed"]  # type: ignore[index]
    status, doc = get(base + "/v1/recipe?flavour=x")
    assert status == 400 and "flavour" in str(doc["message"])


def test_serves_a_data_directory(start_eidosd, reference_data: Path) -> None:  # type: ignore[no-untyped-def]
    base = start_eidosd(RECIPE_DATA_PATH=str(reference_data))
    status, doc = get(base + "/v1/recipe?service=gke&os=cos")
    assert status == 200
    assert doc["metadata"]["appliedOverlays"] == ["base", "monitoring-hpa", "gke-cos"]  # type: ignore[index]


def test_bad_setting_stops_startup_with_one_line() -> None:
    assert EIDOSD
    proc = subprocess.run([EIDOSD], env={**os.environ, "PORT": "http"}, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "eidosd: PORT='http': must be an integer from 1 to 65535"


def test_allowlist_is_enforced(start_eidosd) -> None:  # type: ignore[no-untyped-def]
    base = start_eidosd(EIDOS_ALLOWED_ACCELERATORS="h100,l40")
    assert get(base + "/v1/recipe?accelerator=h100")[0] == 200
    assert get(base + "/v1/recipe")[0] == 200  # any is always allowed
    status, doc = get(base + "/v1/recipe?accelerator=gb200")
    assert status == 400
    assert doc["details"] == {"field": "accelerator", "requested": "gb200", "allowed": ["h100", "l40"]}
