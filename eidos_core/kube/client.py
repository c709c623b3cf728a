"""An API client from the in-cluster service account, else the kubeconfig (``KUBECONFIG``)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException

from eidos_core.errors import UnavailableError


async def load_configuration(kubeconfig: str | None = None) -> Any:
    conf = client.Configuration()
    try:
        if not kubeconfig and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
        else:
            # The library reads $KUBECONFIG once, at import; read it now so a changed environment counts.
            path = kubeconfig or os.environ.get("KUBECONFIG") or None
            await config.load_kube_config(config_file=path, client_configuration=conf)
    except (ConfigException, FileNotFoundError, OSError) as exc:
        raise UnavailableError(
            f"no Kubernetes configuration: not in a cluster and no usable kubeconfig ({exc})"
        ) from None
    return conf


@asynccontextmanager
async def api_client(kubeconfig: str | None = None) -> AsyncIterator[Any]:
    conf = await load_configuration(kubeconfig)
    async with client.ApiClient(configuration=conf) as api:
        yield api


async def raw_json(call: Awaitable[Any]) -> Any:
    """The JSON body of a client call made with ``_preload_content=False``.

    Reading the raw JSON skips the generated models, which reject objects missing fields
    they declare required (a partial Node status, say) and cost time on large lists.
    Non-2xx answers raise ``ApiException`` as preloaded calls do, for ``api_errors``.
    """
    response = await call
    try:
        body = await response.read()
        if not 200 <= response.status <= 299:
            exc = ApiException(status=response.status, reason=response.reason)
            exc.body = body.decode("utf-8", "replace")
            raise exc
        return json.loads(body)
    finally:
        response.release()
