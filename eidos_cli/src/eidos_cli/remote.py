"""``--server URL``: ask a running eidosd for the recipe instead of resolving it locally.

The criteria go as a ``recipeCriteria`` POST body; an error envelope comes back as the
matching :class:`EidosError`, so the exit code is the same as for a local failure.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from eidos_core import API_VERSION, __version__
from eidos_core.errors import (
    EidosError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    TimeoutExceededError,
    UnavailableError,
)
from eidos_core.recipe.criteria import CRITERIA_KIND, Criteria

_BY_STATUS: dict[int, type[EidosError]] = {
    400: InvalidRequestError,
    401: ForbiddenError,
    403: ForbiddenError,
    404: NotFoundError,
    408: TimeoutExceededError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    504: TimeoutExceededError,
}
TOTAL_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0
# A recipe is a few KiB, an error envelope less; far more is a misbehaving server (or not eidosd),
# refused while reading rather than after buffering whatever it sends for 30 s.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024


async def fetch_recipe(server: str, criteria: Criteria) -> Any:
    url = server.rstrip("/") + "/v1/recipe"
    body = {"kind": CRITERIA_KIND, "apiVersion": API_VERSION, "spec": criteria.to_dict()}
    timeout = aiohttp.ClientTimeout(total=TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT)
    headers = {"User-Agent": f"eidos-cli/{__version__}", "Accept": "application/json"}
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, headers=headers) as http,
            http.post(url, json=body) as resp,
        ):
            answer = await _read_capped(resp, url)
            try:
                doc = json.loads(answer)
            except (ValueError, RecursionError):  # not JSON, or nested deeper than any envelope: not eidosd
                doc = None
            if resp.status == 200 and isinstance(doc, dict):
                return doc
            message = doc.get("message") if isinstance(doc, dict) else None
            error = _BY_STATUS.get(resp.status, UnavailableError)
            raise error(f"{url}: {resp.status} {message or resp.reason or 'unexpected answer'}")
    except TimeoutError:
        raise TimeoutExceededError(f"{url}: no answer within {TOTAL_TIMEOUT:g}s") from None
    except aiohttp.ClientError as exc:
        raise UnavailableError(f"{url}: {exc}") from None


async def _read_capped(resp: aiohttp.ClientResponse, url: str) -> bytes:
    """The body, read in chunks; more than ``MAX_RESPONSE_BYTES`` is an error, not a bigger buffer."""
    too_big = UnavailableError(f"{url}: the response is larger than {MAX_RESPONSE_BYTES} bytes; is this eidosd?")
    if (resp.content_length or 0) > MAX_RESPONSE_BYTES:
        raise too_big
    body = bytearray()
    while chunk := await resp.content.read(_CHUNK):
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise too_big
    return bytes(body)
