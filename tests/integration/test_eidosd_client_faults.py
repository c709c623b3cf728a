"""Client faults against a real eidosd process: hang-ups, unreadable bodies, malformed HTTP and
slow headers are 4xx (or a quiet close when nobody is left to answer), counted by reason in
``eidos_http_client_errors_total``, and logged as one rate-limited WARNING line — never a 500,
never an ERROR, never a traceback."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from typing import Any

from tests.support import NO_RATE_LIMIT, EidosdProcess, RunEidosd, read_response, wait_until

ERRORS = "eidos_http_client_errors_total"


def statuses(server: EidosdProcess) -> dict[str, float]:
    _, _, text = server.request("/metrics")
    found: dict[str, float] = {}
    for status, n in re.findall(r'eidos_http_requests_total\{[^}]*status="(\d+)"\} (\S+)', text.decode()):
        found[status] = found.get(status, 0) + float(n)
    return found


def stop_and_read_log(server: EidosdProcess) -> list[dict[str, Any]]:
    assert server.stop(signal.SIGTERM, within=20) == 0
    return server.json_log()


def assert_quiet(lines: list[dict[str, Any]], reason: str, at_most: int = 1) -> None:
    """No ERROR and no traceback anywhere; the fault logged as WARNING at most ``at_most`` times."""
    assert [line for line in lines if line["level"] not in ("INFO", "WARN")] == []
    assert [line for line in lines if "exc_info" in line or "Traceback" in json.dumps(line)] == []
    warnings = [line for line in lines if line["level"] == "WARN" and line.get("reason") == reason]
    assert 1 <= len(warnings) <= at_most, warnings


def exchange(port: int, data: bytes, *, timeout: float = 10) -> bytes:
    """Send ``data`` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
        return response


def test_abandoned_posts_are_counted_not_500(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(**NO_RATE_LIMIT)
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"spec\": ")  # fmt: skip
            time.sleep(0.02)  # the handler is reading the body when the client hangs up
    # The server sees a hang-up a moment after it happens.
    wait_until(lambda: server.metric(ERRORS, reason="disconnected") >= 20, "20 hang-ups counted")
    assert server.metric(ERRORS, reason="disconnected") == 20
    codes = statuses(server)
    assert "500" not in codes
    assert codes.get("499") == 20
    assert_quiet(stop_and_read_log(server), "disconnected")


def test_undecodable_body_is_400_envelope(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(**NO_RATE_LIMIT)
    body = b"this is not gzip data"
    response = exchange(server.port, b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Encoding: gzip\r\nConnection: close\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # fmt: skip
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), response
    doc = json.loads(payload)
    assert doc["code"] == "INVALID_REQUEST" and doc["retryable"] is False and doc["requestId"]
    assert "500" not in statuses(server)
    lines = stop_and_read_log(server)
    assert [line for line in lines if line["level"] not in ("INFO", "WARN")] == []
    assert not [line for line in lines if "exc_info" in line]


def test_malformed_http_is_400_counted_and_one_warning(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(**NO_RATE_LIMIT)
    bad = [
        b"GARBAGE\r\n\r\n",  # not HTTP at all (aiohttp logs this one at DEBUG: still counted)
        b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # request line too long
        b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]
    for data in bad:
        response = exchange(server.port, data)
        assert re.match(rb"HTTP/1\.[01] 4\d\d ", response), response
    wait_until(lambda: server.metric(ERRORS, reason="malformed_http") >= len(bad), "every malformed request counted")
    assert server.metric(ERRORS, reason="malformed_http") == len(bad)
    assert "500" not in statuses(server)
    assert_quiet(stop_and_read_log(server), "malformed_http")


def test_slow_headers_are_cut_after_read_timeout(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(READ_TIMEOUT="1s", IDLE_TIMEOUT="30s", **NO_RATE_LIMIT)
    # A normal keep-alive connection, idle for longer than READ_TIMEOUT, still works.
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle.recv(65536).startswith(b"HTTP/1.1 200")

    slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
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
    assert server.metric(ERRORS, reason="slow_headers") == 1
    assert_quiet(stop_and_read_log(server), "slow_headers")


def test_idle_keepalive_after_any_route_lives_past_read_timeout(run_eidosd: RunEidosd) -> None:
    """Probes, /metrics, the docs and the catch-all mark their connection idle like the
    pipeline's routes: idle keep-alive connections live for IDLE_TIMEOUT, not READ_TIMEOUT."""
    server = run_eidosd(READ_TIMEOUT="500ms", IDLE_TIMEOUT="30s", **NO_RATE_LIMIT)
    paths = ["/health", "/ready", "/metrics", "/docs", "/openapi.json", "/docs/static/index.css",
             "/docs/static/nope.js", "/nowhere", "/v1/recipe?service=eks"]  # fmt: skip
    conns = []
    for path in paths:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert re.match(rb"HTTP/1\.1 (200|404) ", read_response(sock)), path
        conns.append(sock)
    time.sleep(1.5)  # a connection with a pending header block is cut within 1.25 x READ_TIMEOUT
    for path, sock in zip(paths, conns, strict=True):
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200"), f"cut while idle after {path}"
    assert server.metric(ERRORS, reason="slow_headers") == 0
    # And the next header block is timed again: half of one, then nothing, is cut with a 408.
    for sock in conns:
        sock.sendall(b"GET /health HTTP/1.1\r\nHo")
    for path, sock in zip(paths, conns, strict=True):
        assert read_response(sock).startswith(b"HTTP/1.1 408"), f"not timed after {path}"
        sock.close()
    assert server.metric(ERRORS, reason="slow_headers") == len(paths)
