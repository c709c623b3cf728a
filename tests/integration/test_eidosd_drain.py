"""The rolling-update drain (design.md §3.13) against a real eidosd process: 100 keep-alive
clients at full speed, SIGTERM, and not one request written before the listener closed goes
unanswered; requests still running at SHUTDOWN_TIMEOUT are answered 503, counted and logged.

How "lost" is measured (bench/drain.py holds the load client): every request is stamped with
the monotonic time it was written; eidosd logs the monotonic time its listener closed (the
moment of its last accept, after which only connections completed later can be reset). A
failed request written before that time is lost. Clients stop at their first refused connect.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

from bench.drain import drain_run
from tests.support import RunEidosd, read_response


def test_rolling_update_loses_no_request(tmp_path: Path) -> None:
    result = drain_run(clients=100, warmup=1.0, delay="1s", log_dir=tmp_path)
    summary = result.summary()
    assert result.exit_code == 0, summary
    # The measurement saw a real drain: load before and during it, every client refused at the end.
    assert result.answered_while_draining >= 100, summary
    assert result.refused == 100, summary
    assert result.listener_closed > result.draining_from, summary
    assert result.lost == 0, (summary, [f for f in result.failures if f[0] < result.listener_closed])
    # From SIGTERM on, every answer told its client to reconnect.
    assert result.without_close_while_draining == 0, summary
    assert set(result.statuses) == {200}, summary


def test_request_running_at_shutdown_timeout_is_cut_counted_and_logged(run_eidosd: RunEidosd) -> None:
    server = run_eidosd(SHUTDOWN_DELAY="0s", SHUTDOWN_TIMEOUT="1s", READ_TIMEOUT="60s", LOG_LEVEL="info")
    # A request whose body never finishes arriving: its handler runs until it is cut.
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    sock.sendall(b"POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"spec\":")  # fmt: skip
    time.sleep(0.3)  # the handler is reading the body (nothing to observe it by)
    server.proc.send_signal(signal.SIGTERM)
    response = read_response(sock)
    sock.close()
    assert server.stop(within=15) == 1  # requests were cut: a non-zero exit, as the reference's
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), response
    assert b"\r\nConnection: close\r\n" in head + b"\r\n"
    doc = json.loads(body)
    assert (doc["code"], doc["details"], doc["retryable"]) == ("SERVICE_UNAVAILABLE", {"reason": "shutting down"}, True)
    lines = server.json_log()
    (cut,) = [line for line in lines if str(line["msg"]).startswith("shutdown timeout")]
    assert cut["level"] == "WARN" and cut["cut"] == 1
    assert not [line for line in lines if line["level"] == "ERROR"]
