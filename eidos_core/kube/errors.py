"""Kubernetes API failures as Eidos errors: not found, forbidden (naming the RBAC verb and
resource to grant), invalid content, unreachable API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from eidos_core.errors import (
    EidosError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    TimeoutExceededError,
    UnavailableError,
)


def _status_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        return str(exc.reason or "")
    return str(body.get("message") or exc.reason or "")


def translate(exc: BaseException, *, verb: str, resource: str, namespace: str = "", name: str = "") -> EidosError:
    what = (
        f"{resource} {namespace}/{name}"
        if name
        else (f"{resource} in namespace {namespace}" if namespace else resource)
    )
    if isinstance(exc, ApiException):
        status = exc.status or 0
        message = _status_message(exc)
        if status == 404:
            return NotFoundError(
                f"{what} not found", details={"resource": resource, "namespace": namespace, "name": name}
            )
        if status in (401, 403):
            scope = f" in namespace {namespace!r}" if namespace else " (cluster-wide)"
            return ForbiddenError(
                f"forbidden: cannot {verb} {resource}{scope}; grant RBAC verb {verb!r} on resource {resource!r} "
                f"({message})",
                details={"verb": verb, "resource": resource, "namespace": namespace},
            )
        if status in (400, 409, 413, 422):
            return InvalidRequestError(f"{what}: rejected by the API server ({status}): {message}")
        return UnavailableError(f"Kubernetes API error {status} on {verb} {what}: {message}")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return TimeoutExceededError(f"timed out talking to the Kubernetes API ({verb} {what})")
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return UnavailableError(f"Kubernetes API unreachable ({verb} {what}): {exc}")
    if isinstance(exc, EidosError):
        return exc
    return UnavailableError(f"Kubernetes API call failed ({verb} {what}): {exc}")


@asynccontextmanager
async def api_errors(*, verb: str, resource: str, namespace: str = "", name: str = "") -> AsyncIterator[None]:
    """Turn whatever the client raises inside the block into an :class:`EidosError`."""
    try:
        yield
    except EidosError:
        raise
    except (TimeoutError, ApiException, aiohttp.ClientError, OSError) as exc:
        raise translate(exc, verb=verb, resource=resource, namespace=namespace, name=name) from None
