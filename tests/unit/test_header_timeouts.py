"""The READ_TIMEOUT sweep (eidosd/connection.py): an overdue header block is answered 408 and
closed; a connection still writing a response to a client that stopped reading is cut without
a 408 landing inside that response."""

from __future__ import annotations

import asyncio
from typing import Any

from eidosd.connection import Connection, Connections, HeaderTimeouts


class Transport(asyncio.Transport):
    def __init__(self, pending: int) -> None:
        super().__init__()
        self.pending = pending  # bytes of a response not yet taken by the client
        self.written: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return self.pending

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


def overdue(pending: int) -> tuple[HeaderTimeouts, Transport, list[Connection]]:
    connections: Connections = {}
    cut: list[Connection] = []
    timeouts = HeaderTimeouts(10.0, cut.append, connections)
    transport = Transport(pending)
    conn = timeouts.factory(asyncio.Protocol)()
    conn.connection_made(transport)
    conn.started = 100.0  # the first byte of a header block, 10 s before the sweep below
    assert timeouts.sweep(110.5) == 1
    return timeouts, transport, cut


def test_overdue_headers_get_a_408_then_close() -> None:
    _, transport, cut = overdue(pending=0)
    assert transport.written and transport.written[0].startswith(b"HTTP/1.1 408 ")
    assert transport.closed and not transport.aborted
    assert len(cut) == 1 and cut[0].started is None


def test_a_response_still_being_written_is_cut_without_a_408() -> None:
    _, transport, cut = overdue(pending=65536)
    assert transport.written == []
    assert transport.aborted and not transport.closed
    assert len(cut) == 1


def test_a_connection_within_its_time_is_left_alone() -> None:
    connections: Connections = {}
    timeouts = HeaderTimeouts(10.0, lambda conn: None, connections)
    transport = Transport(0)
    conn = timeouts.factory(asyncio.Protocol)()
    conn.connection_made(transport)
    conn.started = 100.0
    assert timeouts.sweep(109.0) == 0
    assert transport.written == [] and not transport.closed and conn.started == 100.0
