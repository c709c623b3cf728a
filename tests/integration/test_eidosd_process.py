"""eidosd started as its console script on a real socket, driven over HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path

from eidos_core.recipe.criteria import ANY
from tests.support import EIDOSD, RunEidosd, port_refuses, read_response, start_eidosd, wait_until


def test_serves_embedded_recipes(run_eidosd: RunEidosd) -> None:
    server = run_eidosd()
    status, doc = server.json("/v1/recipe?service=eks&accelerator=h100&os=ubuntu&intent=training")
    assert status == 200
    assert doc["kind"] == "recipeResult"
    assert doc["criteria"] == {"service": "eks", "accelerator": "h100", "intent": "training", "os": "ubuntu"}
    status, doc = server.json("/v1/recipe?gpu=gb200")
    assert doc["criteria"]["accelerator"] == "gb200" and doc["criteria"]["service"] == ANY


def test_bad_input_is_400_naming_field(run_eidosd: RunEidosd) -> None:
    server = run_eidosd()
    status, doc = server.json("/v1/recipe?os=windows")
    assert status == 400
    assert doc["details"]["field"] == "os"
    assert "ubuntu" in doc["details"]["allowed"]
    status, doc = server.json("/v1/recipe?flavour=x")
    assert status == 400 and "flavour" in str(doc["message"])


def test_serves_a_data_directory(run_eidosd: RunEidosd, reference_data: Path) -> None:
    server = run_eidosd(RECIPE_DATA_PATH=str(reference_data))
    status, doc = server.json("/v1/recipe?service=gke&os=cos")
    assert status == 200
    assert doc["metadata"]["appliedOverlays"] == ["base", "monitoring-hpa", "gke-cos"]


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
    proc = subprocess.run([EIDOSD, "--prot=9"], env=env, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2
    assert "unrecognized arguments: --prot=9" in proc.stderr


def test_allowlist_is_enforced(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(EIDOS_ALLOWED_ACCELERATORS="h100,l40")
    assert server.json("/v1/recipe?accelerator=h100")[0] == 200
    assert server.json("/v1/recipe")[0] == 200  # any is always allowed
    status, doc = server.json("/v1/recipe?accelerator=gb200")
    assert status == 400
    assert doc["details"] == {"field": "accelerator", "requested": "gb200", "allowed": ["h100", "l40"]}


def spawn(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], int]:
    """A ready eidosd's (process, port); tests/integration/test_openapi.py still imports this."""
    server = start_eidosd(tmp_path, **env)
    return server.proc, server.port


def test_json_logs_carry_request_id(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(LOG_LEVEL="info")
    assert server.request("/v1/recipe?service=aks", headers={"X-Request-Id": "trace-42"})[0] == 200
    assert server.stop() == 0
    lines = server.json_log()
    # The reference's keys, and the logger: which lines are access lines.
    assert all({"time", "level", "msg", "module", "version", "logger"} <= set(line) for line in lines)
    assert {line["module"] for line in lines} == {"eidosd"}
    for line in lines:  # RFC 3339 in UTC, to the microsecond
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", line["time"]), line["time"]
        assert abs(datetime.fromisoformat(line["time"].replace("Z", "+00:00")).timestamp() - time.time()) < 300
    assert all(next(iter(line)) == "time" for line in lines)  # first, as the reference's
    (access,) = [line for line in lines if line.get("request_id") == "trace-42"]
    assert access["logger"] == "eidosd.access"
    assert (access["method"], access["route"], access["status"]) == ("GET", "/v1/recipe", 200)
    assert access["duration_ms"] >= 0 and access["remote"] == "127.0.0.1"


def test_warning_level_has_no_access_lines(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(LOG_LEVEL="warning")
    assert server.request("/v1/recipe")[0] == 200
    assert server.stop() == 0
    assert "eidosd.access" not in server.log()


def test_sigterm_drains_a_request_whose_body_is_still_arriving(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(SHUTDOWN_DELAY="0.5s", SHUTDOWN_TIMEOUT="10s", LOG_LEVEL="warning")
    body = b'{"spec": {"service": "gke", "os": "cos"}}'
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])  # fmt: skip
    time.sleep(0.2)  # the handler is reading the body (nothing to observe it by)
    server.proc.send_signal(signal.SIGTERM)
    # Readiness flips at once, while the process still serves.
    wait_until(lambda: server.request("/ready")[0] == 503, "/ready 503 after SIGTERM", 5, every=0.02)
    # Past SHUTDOWN_DELAY the listener is closed.
    wait_until(lambda: port_refuses(server.port), "the listener closed after SHUTDOWN_DELAY", 5)
    sock.sendall(body[10:])
    response = read_response(sock)
    sock.close()
    assert response.startswith(b"HTTP/1.1 200")
    assert b'"gke-cos"' in response
    assert server.stop(within=15) == 0


def test_idle_keepalive_connection_is_closed(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(IDLE_TIMEOUT="300ms", LOG_LEVEL="warning")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    assert sock.recv(1) == b""  # the server hangs up on the idle connection
    assert time.monotonic() - started < 3
    sock.close()
