"""Benchmark: a rolling update's SIGTERM under keep-alive load loses nothing.

    .venv/bin/python -m bench.drain [--clients 100] [--warmup 1] [--delay 1s] [--rounds 3]

Design target (issue 9): 100 keep-alive clients at full speed, SIGTERM: 0 requests written
before the listener closed go unanswered.

Starts eidosd on 127.0.0.1 (SHUTDOWN_DELAY=--delay, RATE_LIMIT raised so the limiter stays
out of the way, LOG_LEVEL=info for the drain's log lines) and runs ``--clients`` HTTP/1.1
keep-alive clients on raw sockets, each sending its next request as soon as the previous
answer is in and reconnecting when an answer says ``Connection: close``. After ``--warmup``
seconds it sends SIGTERM; each client goes on until its connect is refused.

Every request is recorded with the monotonic time it was written (CLOCK_MONOTONIC is the same
clock in both processes). eidosd logs the monotonic time from which every response carries
``Connection: close`` ("shutting down") and the time its listener closed ("listener closed":
the moment of its last accept, so a connection reset by the close completed its handshake
later and its request was written later). A request that failed is *lost* when it was written
before the listener closed; one written after (on a connection the kernel completed just as
the listener closed) is counted separately; a refused connect is not a request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.server import BIN, free_port, wait_ready

REQUEST = b"GET /v1/recipe?service=eks&accelerator=h100&intent=training HTTP/1.1\r\nHost: bench\r\n\r\n"
ANSWER_TIMEOUT = 30.0


@dataclass
class Load:
    sent: int = 0
    answered: int = 0
    refused: int = 0
    first_refused: float = float("inf")
    statuses: Counter[int] = field(default_factory=Counter)
    # (monotonic time the request was written, what went wrong)
    failures: list[tuple[float, str]] = field(default_factory=list)
    # (monotonic time the request was written, whether its answer said Connection: close)
    answers: list[tuple[float, bool]] = field(default_factory=list)


@dataclass
class DrainResult:
    clients: int
    sent: int
    answered: int
    lost: int  # failed, written before the listener closed: must be 0
    failed_after_close: int
    refused: int
    statuses: dict[int, int]
    answered_while_draining: int
    without_close_while_draining: int  # answers to requests written after SIGTERM took effect: must be 0
    exit_code: int
    drain_seconds: float  # SIGTERM to process exit
    failures: list[tuple[float, str]]
    listener_closed: float
    draining_from: float

    def summary(self) -> dict[str, object]:
        return {
            "clients": self.clients,
            "sent": self.sent,
            "answered": self.answered,
            "lost": self.lost,
            "failed_after_close": self.failed_after_close,
            "refused_connects": self.refused,
            "statuses": self.statuses,
            "answered_while_draining": self.answered_while_draining,
            "without_close_while_draining": self.without_close_while_draining,
            "exit_code": self.exit_code,
            "drain_seconds": round(self.drain_seconds, 3),
        }


async def _client(port: int, load: Load) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while True:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:  # refused: the listener is closed, this client is done
                load.refused += 1
                load.first_refused = min(load.first_refused, time.monotonic())
                return
        assert reader is not None
        written_at = time.monotonic()
        load.sent += 1
        try:
            writer.write(REQUEST)
            async with asyncio.timeout(ANSWER_TIMEOUT):
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.lower().split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            load.failures.append((written_at, type(exc).__name__))
            writer.close()
            writer = None
            continue
        load.answered += 1
        load.statuses[int(head.split(b" ", 2)[1])] += 1
        close = b"\r\nconnection: close\r\n" in head.lower()
        load.answers.append((written_at, close))
        if close:
            writer.close()
            writer = None


def _logged_time(log: Path, message: str) -> float | None:
    for line in log.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("message", "").startswith(message) and "monotonic" in record:
            return float(record["monotonic"])
    return None


async def _load(port: int, proc: subprocess.Popen[bytes], clients: int, warmup: float) -> tuple[Load, float]:
    """Run the clients, SIGTERM after ``warmup``; returns the load and when the signal went."""
    load = Load()
    tasks = [asyncio.create_task(_client(port, load)) for _ in range(clients)]
    await asyncio.sleep(warmup)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    await asyncio.gather(*tasks)
    return load, signalled


def drain_run(clients: int = 100, warmup: float = 1.0, delay: str = "1s", log_dir: Path | None = None) -> DrainResult:
    """One rolling-update drain: start eidosd, load it, SIGTERM, measure."""
    port = free_port()
    log = Path(log_dir or tempfile.mkdtemp()) / f"eidosd-drain-{port}.log"
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "info", "SHUTDOWN_DELAY": delay,
           "SHUTDOWN_TIMEOUT": "20s", "RATE_LIMIT": "1000000", "RATE_BURST": "1000000"}  # fmt: skip
    with log.open("wb") as err:
        proc = subprocess.Popen([BIN / "eidosd"], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_ready(f"http://127.0.0.1:{port}/ready")
        load, signalled = asyncio.run(_load(port, proc, clients, warmup))
        exit_code = proc.wait(60)
        drain_seconds = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # An eidosd from before the drain fix logs neither time: then the first refused connect
    # (after the close) and SIGTERM (before readiness flipped) stand in, which can only
    # over-count what is lost and under-count answers without Connection: close.
    closed = _logged_time(log, "listener closed") or load.first_refused
    draining = _logged_time(log, "shutting down") or signalled
    lost = [f for f in load.failures if f[0] < closed]
    while_draining = [close for written, close in load.answers if written > draining]
    return DrainResult(
        clients=clients,
        sent=load.sent,
        answered=load.answered,
        lost=len(lost),
        failed_after_close=len(load.failures) - len(lost),
        refused=load.refused,
        statuses=dict(load.statuses),
        answered_while_draining=len(while_draining),
        without_close_while_draining=while_draining.count(False),
        exit_code=exit_code,
        drain_seconds=drain_seconds,
        failures=load.failures,
        listener_closed=closed,
        draining_from=draining,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--delay", default="1s", help="SHUTDOWN_DELAY")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for _ in range(args.rounds):
        result = drain_run(args.clients, args.warmup, args.delay)
        print(json.dumps(result.summary()))


if __name__ == "__main__":
    main()
