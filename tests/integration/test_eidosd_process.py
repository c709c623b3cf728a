"""eidosd started as its console script on a real socket, driven over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
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
                # Ready means recipe data is loaded; a busy machine may take a moment after listening.
                urllib.request.urlopen(base + "/ready", timeout=1).close()
                return base
            except OSError:  # refused, or HTTPError 503 while loading
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


def test_help_lists_the_settings_and_exits_0_even_with_a_bad_setting() -> None:
    assert EIDOSD
    env = {**os.environ, "PORT": "http"}
    proc = subprocess.run([EIDOSD, "--help"], env=env, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    assert "  PORT " in proc.stdout and "[default: 8080;" in proc.stdout
    proc = subprocess.run([EIDOSD, "--port=9"], env=env, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2
    assert "unrecognized arguments: --port=9" in proc.stderr


def test_allowlist_is_enforced(start_eidosd) -> None:  # type: ignore[no-untyped-def]
    base = start_eidosd(EIDOS_ALLOWED_ACCELERATORS="h100,l40")
    assert get(base + "/v1/recipe?accelerator=h100")[0] == 200
    assert get(base + "/v1/recipe")[0] == 200  # any is always allowed
    status, doc = get(base + "/v1/recipe?accelerator=gb200")
    assert status == 400
    assert doc["details"] == {"field": "accelerator", "requested": "gb200", "allowed": ["h100", "l40"]}


def spawn(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], int]:
    assert EIDOSD
    port = free_port()
    proc = subprocess.Popen(
        [EIDOSD],
        env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as resp:
                if resp.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("eidosd did not become ready")


def test_json_logs_carry_request_id(tmp_path: Path) -> None:
    proc, port = spawn(tmp_path, LOG_LEVEL="info")
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/recipe?service=aks", headers={"X-Request-Id": "trace-42"})
    urllib.request.urlopen(req, timeout=5).close()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    (access,) = [line for line in lines if line.get("request_id") == "trace-42"]
    assert access["logger"] == "eidosd.access"
    assert (access["method"], access["route"], access["status"]) == ("GET", "/v1/recipe", 200)
    assert access["duration_ms"] >= 0 and access["remote"] == "127.0.0.1"


def test_warning_level_has_no_access_lines(tmp_path: Path) -> None:
    proc, port = spawn(tmp_path, LOG_LEVEL="warning")
    urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/recipe", timeout=5).close()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert b"eidosd.access" not in err


def test_sigterm_drains_a_request_whose_body_is_still_arriving(tmp_path: Path) -> None:
    proc, port = spawn(tmp_path, SHUTDOWN_DELAY="0.5s", SHUTDOWN_TIMEOUT="10s", LOG_LEVEL="warning")
    body = b'{"spec": {"service": "gke", "os": "cos"}}'
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])  # fmt: skip
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    # Readiness flips at once, while the process still serves.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status, _ = get(f"http://127.0.0.1:{port}/ready")
        if status == 503:
            break
        time.sleep(0.02)
    assert status == 503
    time.sleep(0.8)  # past SHUTDOWN_DELAY: the listener is closed now
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    sock.sendall(body[10:])
    response = b""
    while not response.endswith(b"}") or b"\r\n\r\n" not in response:
        chunk = sock.recv(65536)
        if not chunk:
            break
        response += chunk
    sock.close()
    assert response.startswith(b"HTTP/1.1 200")
    assert b'"gke-cos"' in response
    proc.wait(15)
    assert proc.returncode == 0


def test_idle_keepalive_connection_is_closed(tmp_path: Path) -> None:
    proc, port = spawn(tmp_path, IDLE_TIMEOUT="300ms", LOG_LEVEL="warning")
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert sock.recv(1) == b""  # the server hangs up on the idle connection
        assert time.monotonic() - started < 3
        sock.close()
    finally:
        proc.terminate()
        proc.wait(10)
