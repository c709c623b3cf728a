"""Following one named Kubernetes object: get it, then watch it from that resourceVersion.

In layers, after kopf's ``watching.py``, outermost first:

- :func:`infinite_watch`: forever, one :func:`continuous_watch` after another, each on a fresh API
  client. A stream that ends cleanly (the server's watch timeout) is resumed at once from the
  cursor; a 410 Gone forgets the cursor, so the next session gets the object again (at once, or
  after a backoff when the refused version came straight from a get, so that a server answering
  410 to everything is not hammered); any other failure is logged and backed off (:class:`Backoff`:
  capped exponential with jitter, never sooner than the server's ``Retry-After``), and the backoff
  is reset by the first event a watch delivers.
- :func:`continuous_watch`: one session: a get when the :class:`Cursor` has no resourceVersion
  (the first time, after 410 Gone, after a 404), then one watch stream from the cursor. Every event
  and bookmark moves the cursor; bookmarks are passed on (they show that the watch works) but carry
  no object.
- :func:`get_object` and :func:`watch_objs`: one get, one watch stream, as raw JSON; API failures
  come out as :class:`~eidos_core.errors.EidosError` naming the verb to grant (``get`` or
  ``watch``), with the client's exception as ``__cause__``; 410 Gone in a stream is :class:`Gone`.

Only ``get`` and ``watch`` (with a ``metadata.name`` field selector) are used, never ``list``: a
Role can grant exactly those on one resourceName.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, aclosing, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from kubernetes_asyncio.client.exceptions import ApiException

from eidos_core.errors import EidosError, NotFoundError
from eidos_core.kube.client import raw_json
from eidos_core.kube.errors import translate
from eidos_core.kube.retry import backoff_delay, retry_after

log = logging.getLogger("eidos_core.kube.watching")

JSON = dict[str, Any]

WATCH_TIMEOUT_SECONDS = 300  # the server ends each stream after this; it is then resumed
CONNECT_TIMEOUT_SECONDS = 30.0
# A stream silent for longer than the server's own timeout is a dead connection, not a quiet object.
READ_TIMEOUT_SECONDS = WATCH_TIMEOUT_SECONDS + 30.0
GET_TIMEOUT_SECONDS = 30.0

# LISTED: what a get found; ABSENT: a get found nothing (404; the watch backs off and gets again);
# ADDED, MODIFIED, DELETED, BOOKMARK: what the watch stream said.
EventType = Literal["LISTED", "ABSENT", "ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
_STREAM_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK"})


@dataclass(frozen=True, slots=True)
class Target:
    """One namespaced object and the client calls that read it: ``read(api)`` is the generated
    ``read_namespaced_*`` method, ``lister(api)`` the ``list_namespaced_*`` one (used to watch)."""

    resource: str  # the plural, as RBAC names it: "configmaps"
    namespace: str
    name: str
    read: Callable[[Any], Callable[..., Awaitable[Any]]]
    lister: Callable[[Any], Callable[..., Awaitable[Any]]]

    def __str__(self) -> str:
        return f"{self.resource} {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    object: JSON  # the object as the API sent it; for BOOKMARK only its metadata; {} when ABSENT
    error: NotFoundError | None = None  # ABSENT: why

    @property
    def streamed(self) -> bool:
        """The watch stream delivered it: the watch works."""
        return self.type in _STREAM_TYPES


class Gone(Exception):
    """410 Gone: the resourceVersion is older than the history the API server keeps."""


@dataclass(slots=True)
class Cursor:
    """Where the next watch starts: the last resourceVersion seen ("" = get the object first)."""

    resource_version: str = ""
    from_get: bool = False  # the version came from a get and no watch event has moved it since

    def listed(self, obj: JSON) -> None:
        self.resource_version = _version_of(obj)
        self.from_get = True

    def advance(self, obj: JSON) -> None:
        if version := _version_of(obj):
            self.resource_version = version
            self.from_get = False

    def forget(self) -> None:
        self.resource_version = ""


@dataclass(slots=True)
class Backoff:
    """Waits between failed attempts: :func:`~eidos_core.kube.retry.backoff_delay` (``first·2^n``
    capped at ``cap``, its upper half random), never sooner than the failure's ``Retry-After``."""

    first: float
    cap: float
    rand: Callable[[], float] = random.random
    failures: int = 0  # since the last reset

    def reset(self) -> None:
        self.failures = 0

    def delay(self, exc: BaseException) -> float:
        self.failures += 1
        ours = backoff_delay(self.failures, base=self.first, cap=self.cap, rand=self.rand())
        server = retry_after(exc.__cause__ or exc) or 0.0
        return max(ours, server)


def _version_of(obj: JSON) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


# --- one get, one watch stream ------------------------------------------------------------------


@contextmanager
def _api_failures(verb: str, target: Target) -> Iterator[None]:
    """Whatever the client raises as an :class:`EidosError` naming ``verb``; :class:`Gone` passes."""
    try:
        yield
    except (EidosError, Gone):
        raise
    except Exception as exc:  # ApiException, aiohttp and OS errors, timeouts, malformed streams
        raise translate(exc, verb=verb, resource=target.resource, namespace=target.namespace, name=target.name) from exc


async def get_object(api: Any, target: Target) -> JSON:
    """The object as the API has it now (raw JSON); 404 is :class:`NotFoundError`."""
    read = target.read(api)
    with _api_failures("get", target):
        obj: JSON = await raw_json(
            read(target.name, target.namespace, _preload_content=False, _request_timeout=GET_TIMEOUT_SECONDS)
        )
    return obj


async def watch_objs(api: Any, target: Target, since: str) -> AsyncGenerator[JSON, None]:
    """One watch stream from resourceVersion ``since``: its events (``type``, ``object``) until
    the server ends it. An ERROR event raises (410: :class:`Gone`)."""
    lister = target.lister(api)
    with _api_failures("watch", target):
        response = await lister(
            target.namespace,
            field_selector=f"metadata.name={target.name}",
            resource_version=since,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_TIMEOUT_SECONDS,
            watch=True,
            _preload_content=False,
            _request_timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
        )
        try:
            await _raise_for_status(response)
            while line := await response.content.readline():
                if line.strip():
                    yield _event(line)
        finally:
            response.release()


async def _raise_for_status(response: Any) -> None:
    """A refused watch as the ``ApiException`` a preloaded call raises (with ``Retry-After``);
    410 as :class:`Gone`, as when the stream says it."""
    if response.status == 410:
        raise Gone(f"410 {response.reason}")
    if not 200 <= response.status <= 299:
        exc = ApiException(status=response.status, reason=response.reason)
        exc.body = await response.read()
        exc.headers = response.headers
        raise exc


def _event(line: bytes) -> JSON:
    event = json.loads(line)
    if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
        raise ValueError(f"malformed watch event: {line[:200]!r}")
    if event.get("type") == "ERROR":
        status: JSON = event["object"]
        if status.get("code") == 410:
            raise Gone(str(status.get("message") or "410 Gone"))
        exc = ApiException(status=status.get("code") or 500, reason=status.get("reason"))
        exc.body = json.dumps(status).encode()  # read by translate() for the server's message
        raise exc
    return event


# --- a session: get when needed, then one stream --------------------------------------------------


async def continuous_watch(api: Any, target: Target, cursor: Cursor) -> AsyncGenerator[WatchEvent, None]:
    """Get the object if the cursor has no resourceVersion, then follow one watch stream from it.

    A get that finds nothing yields ABSENT and then raises its :class:`NotFoundError`: there is no
    resourceVersion to watch from, so the caller backs off and gets again."""
    if not cursor.resource_version:
        listed = await _relist(api, target, cursor)
        yield listed
        if listed.error is not None:
            raise listed.error
    async with aclosing(watch_objs(api, target, cursor.resource_version)) as stream:
        async for raw in stream:
            event = _stream_event(raw)
            if event is not None:
                cursor.advance(event.object)
                yield event


async def _relist(api: Any, target: Target, cursor: Cursor) -> WatchEvent:
    try:
        obj = await get_object(api, target)
    except NotFoundError as exc:
        return WatchEvent("ABSENT", {}, exc)
    cursor.listed(obj)
    return WatchEvent("LISTED", obj)


def _stream_event(raw: JSON) -> WatchEvent | None:
    kind = raw.get("type")
    if kind not in _STREAM_TYPES:
        log.warning("ignoring a watch event of unknown type %r", kind)
        return None
    return WatchEvent(kind, raw["object"])


# --- forever -------------------------------------------------------------------------------------


async def infinite_watch(
    target: Target,
    cursor: Cursor,
    *,
    client_factory: Callable[[], AbstractAsyncContextManager[Any]],
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> AsyncGenerator[WatchEvent, None]:
    """Every event of ``target`` from ``cursor`` on, until cancelled; never raises for the API."""
    while True:
        try:
            async with client_factory() as api, aclosing(continuous_watch(api, target, cursor)) as events:
                async for event in events:
                    if event.streamed:
                        backoff.reset()
                    yield event
        except Exception as exc:
            await _recover(exc, target, cursor, backoff, sleep)


async def _recover(
    exc: Exception, target: Target, cursor: Cursor, backoff: Backoff, sleep: Callable[[float], Awaitable[Any]]
) -> None:
    """After a failed session: forget the cursor on 410 Gone, and back off unless a get is due at
    once (410 Gone on a watch that was working; one straight after a get backs off, not spins)."""
    if isinstance(exc, Gone):
        relist_now = not cursor.from_get
        cursor.forget()
        if relist_now:
            log.info("%s: watch history expired (410 Gone); getting it again", target)
            return
    delay = backoff.delay(exc)
    if isinstance(exc, EidosError):
        log.warning("%s: %s; retrying in %.1fs", target, exc.message, delay)
    else:  # Gone straight after a get, or a bug: keep the trace of the latter
        log.warning(
            "%s: %s: %s; retrying in %.1fs", target, type(exc).__name__, exc, delay, exc_info=not isinstance(exc, Gone)
        )
    await sleep(delay)
