"""Recipe data from one ConfigMap (``RECIPE_CONFIGMAP=namespace/name``), followed by watching.

The watching itself (get, then watch from that resourceVersion; 410 Gone gets again; API failures
back off) is :mod:`eidos_core.kube.watching`; this module turns what it sees into recipe data.
Keys follow the ``a__b.yaml`` = ``a/b.yaml`` convention. Only data that validates replaces the
current store; a deleted or broken ConfigMap is reported (the consumer counts it) and the last
good data stays.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, aclosing
from typing import Any

from kubernetes_asyncio import client

from eidos_core.data.files import read_mapping
from eidos_core.data.load import load_store
from eidos_core.errors import NotFoundError
from eidos_core.kube.client import api_client
from eidos_core.kube.configmaps import read_configmap
from eidos_core.kube.watching import Backoff, Cursor, Target, WatchEvent, get_object, infinite_watch
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.base import ReloadEvent
from eidos_core.sources.errors import reload_error

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0


def configmap_target(namespace: str, name: str) -> Target:
    return Target(
        "configmaps",
        namespace,
        name,
        read=lambda api: client.CoreV1Api(api).read_namespaced_config_map,
        lister=lambda api: client.CoreV1Api(api).list_namespaced_config_map,
    )


def configmap_entries(raw: Mapping[str, Any]) -> dict[str, bytes]:
    """``data`` and ``binaryData`` of a ConfigMap (as the API's JSON) as bytes."""
    entries = {k: str(v).encode() for k, v in (raw.get("data") or {}).items()}
    for key, value in (raw.get("binaryData") or {}).items():
        entries[key] = base64.b64decode(value)
    return entries


async def read_configmap_files(namespace: str, name: str, *, kubeconfig: str | None = None) -> dict[str, bytes]:
    """The recipe data files held in one ConfigMap, read once (the CLI's ``--data cm://…``)."""
    async with api_client(kubeconfig) as api:
        raw: dict[str, Any] = api.sanitize_for_serialization(await read_configmap(api, namespace, name))
    return read_mapping(configmap_entries(raw), f"configmap:{namespace}/{name}")


class ConfigMapSource:
    """A :class:`~eidos_core.sources.base.RecipeSource` that follows one ConfigMap.

    ``backoff_first``/``backoff_max`` bound the waits after API failures; ``sleep`` and ``rand``
    are the waiting and the jitter (tests pass recording or fixed ones)."""

    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        client_factory: Callable[[], AbstractAsyncContextManager[Any]] = api_client,
        backoff_first: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self._client = client_factory
        self._target = configmap_target(namespace, name)
        self._cursor = Cursor()
        self._backoff = Backoff(backoff_first, backoff_max, rand)
        self._sleep = sleep
        self._digest = ""  # of the data last seen ("" = none: never seen, or gone)

    @property
    def description(self) -> str:
        return f"configmap:{self.namespace}/{self.name}"

    @property
    def resource_version(self) -> str:
        """Where the watch resumes: the last resourceVersion seen ("" = it gets the ConfigMap first)."""
        return self._cursor.resource_version

    def _store(self, raw: Mapping[str, Any]) -> RecipeStore:
        files = read_mapping(configmap_entries(raw), self.description)
        return load_store(files, source=self.description)

    def _digest_of(self, raw: Mapping[str, Any]) -> str:
        h = hashlib.sha256()
        for key, value in sorted(configmap_entries(raw).items()):
            h.update(key.encode() + b"\0" + hashlib.sha256(value).digest())
        return h.hexdigest()

    async def load(self) -> RecipeStore:
        async with self._client() as api:
            raw = await get_object(api, self._target)
        store = await asyncio.to_thread(self._store, raw)
        self._cursor.listed(raw)
        self._digest = self._digest_of(raw)
        return store

    async def updates(self) -> AsyncIterator[ReloadEvent]:
        watching = infinite_watch(
            self._target, self._cursor, client_factory=self._client, backoff=self._backoff, sleep=self._sleep
        )
        async with aclosing(watching) as events:
            async for event in events:
                reload = await self._reload(event)
                if reload is not None:
                    yield reload

    async def _reload(self, event: WatchEvent) -> ReloadEvent | None:
        """What a watch event means for the recipe data: a new store, an error, or nothing."""
        if event.type in ("LISTED", "ADDED", "MODIFIED"):
            return await self._changed(event.object)
        if event.type == "DELETED":
            return self._lost(
                NotFoundError(f"ConfigMap {self.namespace}/{self.name} was deleted; keeping the last good data")
            )
        if event.type == "ABSENT" and event.error is not None:
            return self._lost(event.error)
        return None  # BOOKMARK

    def _lost(self, err: NotFoundError) -> NotFoundError | None:
        """Report the ConfigMap's disappearance once (until it comes back); the data stay."""
        if not self._digest:
            return None
        self._digest = ""
        return err

    async def _changed(self, raw: Mapping[str, Any]) -> ReloadEvent | None:
        """A new store (or why not) when the data differ from what was last seen.

        Any exception is an event (counted by the consumer, last good data kept), whatever its
        type: bad data must never end the watch or pass for an API failure.
        """
        try:
            digest = self._digest_of(raw)
            if digest == self._digest:
                return None
            self._digest = digest
            return await asyncio.to_thread(self._store, raw)
        except Exception as exc:
            return reload_error(self.description, exc)
