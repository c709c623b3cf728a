"""An API client from the in-cluster service account, else the kubeconfig (``--kubeconfig``,
``$KUBECONFIG``, ``~/.kube/config``); a kubeconfig that is not there is reported as missing, naming
the path(s) looked at."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException

from eidos_core.errors import InvalidRequestError, NotFoundError, UnavailableError

DEFAULT_KUBECONFIG = "~/.kube/config"


def kubeconfig_paths(kubeconfig: str | None, env: Mapping[str, str]) -> tuple[list[str], str]:
    """The kubeconfig files the client would read, and where that list came from (for errors).

    ``$KUBECONFIG`` may list several files (``os.pathsep``); the client merges those that exist.
    A leading ``~`` is expanded, as the client does (a quoted ``KUBECONFIG='~/kc'``).
    """
    if kubeconfig:
        return [os.path.expanduser(kubeconfig)], "--kubeconfig"
    listed = [os.path.expanduser(p) for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return listed, "$KUBECONFIG"
    return [os.path.expanduser(DEFAULT_KUBECONFIG)], "the default location"


def missing_kubeconfig(paths: Sequence[str], origin: str) -> str:
    """The message for a kubeconfig that is not there: the path(s) looked at, and what to do."""
    if len(paths) == 1:
        missing = f"kubeconfig {paths[0]!r} does not exist (from {origin})"
    else:
        missing = f"none of the kubeconfigs {', '.join(repr(p) for p in paths)} exists (from {origin})"
    if origin == "--kubeconfig":
        return missing
    return (
        f"no Kubernetes configuration: {missing}, and not running in a cluster (KUBERNETES_SERVICE_HOST is "
        "unset); pass --kubeconfig FILE or set KUBECONFIG"
    )


async def load_configuration(kubeconfig: str | None = None) -> Any:
    conf = client.Configuration()
    if not kubeconfig and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            config.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            detail = " ".join(str(exc).split())
            raise UnavailableError(
                f"no Kubernetes configuration: the in-cluster service account is not usable ({detail})"
            ) from None
        return conf
    # The library reads $KUBECONFIG once, at import; read it now so a changed environment counts.
    paths, origin = kubeconfig_paths(kubeconfig, os.environ)
    if not any(os.path.exists(p) for p in paths):  # noqa: ASYNC240 - a stat or two, at start-up
        # Named as missing, not "invalid": the library would call a missing file an invalid one.
        cls = UnavailableError if origin == "the default location" else NotFoundError
        raise cls(missing_kubeconfig(paths, origin), details={"paths": paths})
    path = os.pathsep.join(paths)
    files = [p for p in paths if os.path.isfile(p)]  # noqa: ASYNC240 - a stat or two, at start-up
    if files and all(os.path.getsize(p) == 0 for p in files):  # noqa: ASYNC240
        # The client's own error for this is a TypeError about None.
        raise InvalidRequestError(f"kubeconfig {path!r} is empty", details={"paths": paths})
    try:
        await config.load_kube_config(config_file=path, client_configuration=conf)
    except (ConfigException, FileNotFoundError) as exc:
        detail = " ".join(str(exc).split())
        raise UnavailableError(
            f"no Kubernetes configuration: not in a cluster and no usable kubeconfig in {path!r} ({detail})"
        ) from None
    except Exception as exc:  # a kubeconfig that does not parse, or has the wrong shape
        detail = " ".join(str(exc).split())[:200]
        raise InvalidRequestError(f"kubeconfig {path!r} is not usable: {detail}") from None
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
