"""The pure parts of eidos_core.kube.watching: parsing a watch line, the cursor, the backoff.
The layers themselves run against the API emulator in tests/integration/test_configmap_source.py."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio.client.exceptions import ApiException
from multidict import CIMultiDict, CIMultiDictProxy

from eidos_core.errors import UnavailableError
from eidos_core.kube.watching import Backoff, Cursor, Gone, _event


def line(event: object) -> bytes:
    return json.dumps(event).encode() + b"\n"


def test_a_watch_line_is_an_event_and_an_error_line_raises() -> None:
    obj = {"metadata": {"name": "x", "resourceVersion": "7"}}
    assert _event(line({"type": "MODIFIED", "object": obj})) == {"type": "MODIFIED", "object": obj}
    with pytest.raises(Gone, match="too old"):
        _event(line({"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old"}}))
    with pytest.raises(ApiException) as info:
        _event(line({"type": "ERROR", "object": {"kind": "Status", "code": 500, "message": "etcd down"}}))
    assert info.value.status == 500 and b"etcd down" in (info.value.body or b"")


@pytest.mark.parametrize("bad", [b"not json\n", line(["a list"]), line({"type": "ADDED"}), line({"object": 3})])
def test_a_malformed_watch_line_raises_value_error(bad: bytes) -> None:
    with pytest.raises(ValueError, match="malformed watch event|Expecting value"):
        _event(bad)


def test_the_cursor_remembers_where_its_version_came_from() -> None:
    cursor = Cursor()
    cursor.listed({"metadata": {"resourceVersion": "10"}})
    assert (cursor.resource_version, cursor.from_get) == ("10", True)
    cursor.advance({"metadata": {}})  # an object without a version moves nothing
    assert (cursor.resource_version, cursor.from_get) == ("10", True)
    cursor.advance({"metadata": {"resourceVersion": "12"}})
    assert (cursor.resource_version, cursor.from_get) == ("12", False)
    cursor.forget()
    assert cursor.resource_version == ""


def test_backoff_doubles_to_its_cap_resets_and_waits_for_retry_after() -> None:
    backoff = Backoff(first=1.0, cap=4.0, rand=lambda: 0.0)  # rand 0: the lower half of each ceiling
    plain = RuntimeError("refused")
    assert [backoff.delay(plain) for _ in range(4)] == [0.5, 1.0, 2.0, 2.0]
    backoff.reset()
    assert backoff.delay(plain) == 0.5
    # The API's Retry-After rides on the client's exception, the __cause__ of the translated error.
    throttled = ApiException(status=429, reason="Too Many Requests")
    throttled.headers = CIMultiDictProxy(CIMultiDict({"Retry-After": "9"}))
    err = UnavailableError("Kubernetes API error 429")
    err.__cause__ = throttled
    assert backoff.delay(err) == 9.0
