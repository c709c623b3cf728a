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

from eidos_core.errors import InvalidRequestError, NotFoundError, UnavailableError


async def load_configuration(kubeconfig: str | None = None) -> Any:
    conf = client.Configuration()
    # The library reads $KUBECONFIG once, at import; read it now so a changed environment counts.
    path = kubeconfig or os.environ.get("KUBECONFIG") or None
    if path and not os.path.exists(path.split(os.pathsep)[0]):  # noqa: ASYNC240 - one stat, at start-up
        raise NotFoundError(f"kubeconfig {path!r}: no such file")
    try:
        if not kubeconfig and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
        else:
            await config.load_kube_config(config_file=path, client_configuration=conf)
    except (ConfigException, FileNotFoundError) as exc:
        detail = " ".join(str(exc).split())
        raise UnavailableError(
            f"no Kubernetes configuration: not in a cluster and no usable kubeconfig ({detail})"
        ) from None
    except Exception as exc:  # a kubeconfig that does not parse, or has the wrong shape
        detail = " ".join(str(exc).split())[:200]
        raise InvalidRequestError(f"kubeconfig {path or '~/.kube/config'!r} is not usable: {detail}") from None
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
            exc.headers = response.headers  # Retry-After, for the retry logic
            raise exc
        return json.loads(body)
    finally:
        response.release()
