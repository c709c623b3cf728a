"""Recipe data from one ConfigMap (``RECIPE_CONFIGMAP=namespace/name``), followed by watching.

Get the ConfigMap, then watch it from that resourceVersion (kopf-style list-then-watch):
every event moves the resourceVersion forward; a stream that ends is resumed from it; a 410
Gone (history compacted) means get again; API errors back off exponentially up to a cap. Keys
follow the ``a__b.yaml`` = ``a/b.yaml`` convention. Only data that validates replaces the
current store; a deleted or broken ConfigMap is reported and the last good data stays.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from eidos_core.data.files import read_mapping
from eidos_core.data.load import load_store
from eidos_core.errors import EidosError, NotFoundError
from eidos_core.kube.client import api_client
from eidos_core.kube.configmaps import read_configmap
from eidos_core.kube.errors import translate
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.base import ReloadEvent
from eidos_core.sources.errors import reload_error

log = logging.getLogger("eidos.sources.configmap")

WATCH_TIMEOUT_SECONDS = 300
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0


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
    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        client_factory: Callable[[], AbstractAsyncContextManager[Any]] = api_client,
        backoff_first: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self._client = client_factory
        self._backoff_first = backoff_first
        self._backoff_max = backoff_max
        self._resource_version = ""
        self._digest = ""

    @property
    def description(self) -> str:
        return f"configmap:{self.namespace}/{self.name}"

    def _store(self, raw: Mapping[str, Any]) -> RecipeStore:
        files = read_mapping(configmap_entries(raw), self.description)
        return load_store(files, source=self.description)

    def _digest_of(self, raw: Mapping[str, Any]) -> str:
        h = hashlib.sha256()
        for key, value in sorted(configmap_entries(raw).items()):
            h.update(key.encode() + b"\0" + hashlib.sha256(value).digest())
        return h.hexdigest()

    async def _get(self, api: Any) -> dict[str, Any]:
        raw: dict[str, Any] = api.sanitize_for_serialization(await read_configmap(api, self.namespace, self.name))
        return raw

    async def load(self) -> RecipeStore:
        async with self._client() as api:
            raw = await self._get(api)
        store = await asyncio.to_thread(self._store, raw)
        self._resource_version = raw["metadata"].get("resourceVersion", "")
        self._digest = self._digest_of(raw)
        return store

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

    async def updates(self) -> AsyncIterator[ReloadEvent]:
        delay = self._backoff_first
        relist = not self._resource_version
        while True:
            try:
                async with self._client() as api:
                    if relist:
                        try:
                            raw = await self._get(api)
                        except NotFoundError as exc:
                            if self._digest:  # report the loss once, then keep retrying quietly
                                self._digest = ""
                                yield exc
                            raise
                        self._resource_version = raw["metadata"].get("resourceVersion", "")
                        relist = False
                        event = await self._changed(raw)
                        if event is not None:
                            yield event
                    async for event in self._watch(api):
                        delay = self._backoff_first  # the API answers: reset the backoff
                        yield event
                continue  # a clean end of the stream: resume from the last resourceVersion
            except ApiException as exc:
                if exc.status == 410:
                    log.info("watch history expired (410 Gone); getting %s again", self.description)
                    relist = True
                    continue
                err = translate(exc, verb="watch", resource="configmaps", namespace=self.namespace)
            except EidosError as exc:
                err = exc
            except (TimeoutError, OSError) as exc:
                err = translate(exc, verb="watch", resource="configmaps", namespace=self.namespace)
            except Exception as exc:  # the client raises plain Exceptions for malformed streams
                err = EidosError(f"watching {self.description} failed: {exc}")
            log.warning("%s: %s; retrying in %.1fs", self.description, err.message, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)
            relist = relist or not self._resource_version

    async def _watch(self, api: Any) -> AsyncIterator[ReloadEvent]:
        v1 = client.CoreV1Api(api)
        stream = watch.Watch()
        try:
            async for event in stream.stream(
                v1.list_namespaced_config_map,
                self.namespace,
                field_selector=f"metadata.name={self.name}",
                resource_version=self._resource_version,
                timeout_seconds=WATCH_TIMEOUT_SECONDS,
                allow_watch_bookmarks=True,
            ):
                raw = event["raw_object"]
                version = (raw.get("metadata") or {}).get("resourceVersion")
                if version:
                    self._resource_version = version
                kind = event["type"]
                if kind == "BOOKMARK":
                    continue
                if kind == "DELETED":
                    self._digest = ""
                    yield NotFoundError(
                        f"ConfigMap {self.namespace}/{self.name} was deleted; keeping the last good data"
                    )
                    continue
                changed = await self._changed(raw)
                if changed is not None:
                    yield changed
        finally:
            await stream.close()
