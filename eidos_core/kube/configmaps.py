"""ConfigMap reads and writes. Writes create or update (a conflict re-reads and retries, a
few times; a transient API failure is retried within the deadline of the current
:class:`~eidos_core.kube.retry.RetryPolicy`), label what they write, and refuse data over the
1 MiB API limit before calling."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from eidos_core.errors import InvalidRequestError, UnavailableError
from eidos_core.kube.errors import api_errors
from eidos_core.kube.retry import Retrier, RetryPolicy

MAX_CONFIGMAP_BYTES = 1024 * 1024
WRITE_ATTEMPTS = 5


def data_size(data: Mapping[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in data.items())


def check_size(namespace: str, name: str, data: Mapping[str, str]) -> None:
    size = data_size(data)
    if size > MAX_CONFIGMAP_BYTES:
        raise InvalidRequestError(
            f"ConfigMap {namespace}/{name} would hold {size} bytes; Kubernetes allows at most "
            f"{MAX_CONFIGMAP_BYTES} (1 MiB): write to a file instead",
            details={"size": size, "limit": MAX_CONFIGMAP_BYTES},
        )


async def read_configmap(api: Any, namespace: str, name: str) -> Any:
    v1 = client.CoreV1Api(api)
    async with api_errors(verb="get", resource="configmaps", namespace=namespace, name=name):
        return await v1.read_namespaced_config_map(name, namespace)


async def write_configmap(
    api: Any,
    namespace: str,
    name: str,
    data: Mapping[str, str],
    *,
    labels: Mapping[str, str],
    replaces: Callable[[str], bool] = lambda key: False,
    retry: RetryPolicy | None = None,
) -> None:
    """Create ``namespace/name`` or update it: our keys replace theirs, keys for which
    ``replaces`` is true are dropped (a previous format's document), other keys stay.

    Transient failures (429, 5xx, dropped connections, timeouts) are retried under one deadline
    for the whole write (``retry``, else the current policy). A create or update whose answer was
    lost may have landed: its retry then meets 409, which re-reads and writes again, so the
    outcome is the same."""
    check_size(namespace, name, data)
    v1 = client.CoreV1Api(api)
    retrier = Retrier(retry)
    what = f"ConfigMap {namespace}/{name}"
    for _ in range(WRITE_ATTEMPTS):
        try:
            async with api_errors(verb="get", resource="configmaps", namespace=namespace, name=name):
                existing = await retrier.call(f"get {what}", lambda: v1.read_namespaced_config_map(name, namespace))
        except Exception as exc:  # absent is fine: we create it
            if getattr(exc, "code", "") != "NOT_FOUND":
                raise
            existing = None
        try:
            if existing is None:
                body = client.V1ConfigMap(
                    metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels=dict(labels)),
                    data=dict(data),
                )
                async with api_errors(verb="create", resource="configmaps", namespace=namespace, name=name):
                    await _conflict_as_retry(
                        retrier.call(f"create {what}", partial(v1.create_namespaced_config_map, namespace, body))
                    )
                return
            kept = {k: v for k, v in (existing.data or {}).items() if k not in data and not replaces(k)}
            merged = {**kept, **data}
            check_size(namespace, name, merged)
            existing.data = merged
            existing.metadata.labels = {**(existing.metadata.labels or {}), **labels}
            async with api_errors(verb="update", resource="configmaps", namespace=namespace, name=name):
                await _conflict_as_retry(
                    retrier.call(f"update {what}", partial(v1.replace_namespaced_config_map, name, namespace, existing))
                )
            return
        except _Retry:
            continue
    raise UnavailableError(
        f"ConfigMap {namespace}/{name} kept changing under us; gave up after {WRITE_ATTEMPTS} attempts"
    )


class _Retry(Exception):
    pass


async def _conflict_as_retry(call: Any) -> Any:
    try:
        return await call
    except ApiException as exc:
        if exc.status == 409:  # created meanwhile, or a newer resourceVersion: read again
            raise _Retry from None
        raise
