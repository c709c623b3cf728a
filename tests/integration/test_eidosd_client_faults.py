"""Client faults against a real eidosd process: hang-ups, unreadable bodies, malformed HTTP and
slow headers are 4xx (or a quiet close when nobody is left to answer), counted by reason in
``eidos_http_client_errors_total``, and logged as one rate-limited WARNING line — never a 500,
never an ERROR, never a traceback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.test_eidosd_process import EIDOSD, free_port

Start = Callable[..., tuple[subprocess.Popen[bytes], int, Path]]


@pytest.fixture
def eidosd(tmp_path: Path) -> Iterator[Start]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> tuple[subprocess.Popen[bytes], int, Path]:
        assert EIDOSD
        port = free_port()
        log = tmp_path / f"eidosd-{port}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [EIDOSD],
                env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "RATE_LIMIT": "100000",
                     "RATE_BURST": "100000", **env},
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=tmp_path,
            )  # fmt: skip
        procs.append(proc)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return proc, port, log
            except OSError:
                time.sleep(0.05)
        raise AssertionError("eidosd did not become ready")

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def metric(port: int, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if m and m[1] == name and ",".join(sorted((m[2] or "").split(","))) == want:
            return float(m[3])
    return 0.0


def wait_metric(port: int, name: str, value: float, **labels: str) -> float:
    """The metric once it reaches ``value`` (the server sees a hang-up a moment after it happens)."""
    deadline = time.monotonic() + 10
    while (got := metric(port, name, **labels)) < value and time.monotonic() < deadline:
        time.sleep(0.05)
    return got


def statuses(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    found: dict[str, float] = {}
    for status, n in re.findall(r'eidos_http_requests_total\{[^}]*status="(\d+)"\} (\S+)', text):
        found[status] = found.get(status, 0) + float(n)
    return found


def stop_and_read_log(proc: subprocess.Popen[bytes], log: Path) -> list[dict[str, object]]:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def assert_quiet(lines: list[dict[str, object]], reason: str, at_most: int = 1) -> None:
    """No ERROR and no traceback anywhere; the fault logged as WARNING at most ``at_most`` times."""
    assert [line for line in lines if line["level"] not in ("INFO", "WARNING")] == []
    assert [line for line in lines if "exc_info" in line or "Traceback" in json.dumps(line)] == []
    warnings = [line for line in lines if line["level"] == "WARNING" and line.get("reason") == reason]
    assert 1 <= len(warnings) <= at_most, warnings


def exchange(port: int, data: bytes, *, timeout: float = 10) -> bytes:
    """Send ``data`` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
        return response


def test_abandoned_posts_are_counted_not_500(eidosd: Start) -> None:
    proc, port, log = eidosd()
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"spec\": ")  # fmt: skip
            time.sleep(0.02)  # the handler is reading the body when the client hangs up
    assert wait_metric(port, "eidos_http_client_errors_total", 20, reason="disconnected") == 20
    codes = statuses(port)
    assert "500" not in codes
    assert codes.get("499") == 20
    assert_quiet(stop_and_read_log(proc, log), "disconnected")


def test_undecodable_body_is_400_envelope(eidosd: Start) -> None:
    proc, port, log = eidosd()
    body = b"this is not gzip data"
    response = exchange(port, b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Encoding: gzip\r\nConnection: close\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # fmt: skip
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), response
    doc = json.loads(payload)
    assert doc["code"] == "INVALID_REQUEST" and doc["retryable"] is False and doc["requestId"]
    assert "500" not in statuses(port)
    lines = stop_and_read_log(proc, log)
    assert [line for line in lines if line["level"] not in ("INFO", "WARNING")] == []
    assert not [line for line in lines if "exc_info" in line]


def test_malformed_http_is_400_counted_and_one_warning(eidosd: Start) -> None:
    proc, port, log = eidosd()
    bad = [
        b"GARBAGE\r\n\r\n",  # not HTTP at all (aiohttp logs this one at DEBUG: still counted)
        b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # request line too long
        b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]
    for data in bad:
        response = exchange(port, data)
        assert re.match(rb"HTTP/1\.[01] 4\d\d ", response), response
    assert wait_metric(port, "eidos_http_client_errors_total", len(bad), reason="malformed_http") == len(bad)
    assert "500" not in statuses(port)
    assert_quiet(stop_and_read_log(proc, log), "malformed_http")


def test_slow_headers_are_cut_after_read_timeout(eidosd: Start) -> None:
    proc, port, log = eidosd(READ_TIMEOUT="1s", IDLE_TIMEOUT="30s")
    # A normal keep-alive connection, idle for longer than READ_TIMEOUT, still works.
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle.recv(65536).startswith(b"HTTP/1.1 200")

    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    started = time.monotonic()
    received = b""
    for byte in b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n":
        try:
            slow.sendall(bytes([byte]))
        except OSError:  # reset after the server closed: also a cut
            break
        slow.settimeout(1.0)
        try:
            chunk = slow.recv(65536)
        except TimeoutError:
            continue  # one byte a second: the server is still waiting
        received += chunk
        if not chunk or received.endswith(b"}"):
            break
    elapsed = time.monotonic() - started
    slow.close()
    assert elapsed < 5, f"slow headers were not cut within READ_TIMEOUT (took {elapsed:.1f}s)"
    head, _, payload = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), received
    assert json.loads(payload)["code"] == "REQUEST_TIMEOUT"

    time.sleep(0.5)  # the idle connection has now been idle > 2 s, twice READ_TIMEOUT
    idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle.recv(65536).startswith(b"HTTP/1.1 200")
    idle.close()
    assert metric(port, "eidos_http_client_errors_total", reason="slow_headers") == 1
    assert_quiet(stop_and_read_log(proc, log), "slow_headers")
