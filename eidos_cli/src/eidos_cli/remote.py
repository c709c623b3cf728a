"""``--server URL``: ask a running eidosd instead of resolving locally.

``recipe`` sends its criteria as a ``recipeCriteria`` POST body to ``/v1/recipe``; ``query``
sends them, with the selector, as ``GET /v1/query`` parameters. An error envelope comes back as
the matching :class:`EidosError`, so the exit code is the same as for a local failure; a server
that cannot be reached (refused, unknown host, timeout) is one line in our words naming the URL
and ``--server``, never aiohttp's repr. The URL itself is read by :mod:`eidos_cli.server_url`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from eidos_cli.server_url import FLAG, server_base_url
from eidos_core import API_VERSION, __version__
from eidos_core.errors import (
    EidosError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    TimeoutExceededError,
    UnavailableError,
)
from eidos_core.recipe.criteria import ANY, CRITERIA_KIND, Criteria

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
_NOT_JSON = object()


async def fetch_recipe(server: str, criteria: Criteria, *, answer_within: float = TOTAL_TIMEOUT) -> Any:
    """The recipeResult document eidosd at ``server`` resolves for ``criteria``."""
    body = {"kind": CRITERIA_KIND, "apiVersion": API_VERSION, "spec": criteria.to_dict()}
    doc = await _call(server, "POST", "/v1/recipe", json_body=body, answer_within=answer_within)
    if not isinstance(doc, dict):
        raise UnavailableError(f"{server_base_url(server)}/v1/recipe: the answer is not a recipe; is this eidosd?")
    return doc


async def fetch_query(server: str, criteria: Criteria, selector: str, *, answer_within: float = TOTAL_TIMEOUT) -> Any:
    """The value at ``selector`` in the recipe eidosd at ``server`` resolves for ``criteria``."""
    params = {name: str(value) for name, value in criteria.to_dict().items() if value not in (ANY, 0, None)}
    return await _call(server, "GET", "/v1/query", params={**params, "selector": selector}, answer_within=answer_within)


async def _call(
    server: str,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    params: Mapping[str, str] | None = None,
    answer_within: float,
) -> Any:
    """One request; the JSON answer of a 200, else the error it stands for."""
    base = server_base_url(server)
    url = base + path
    limits = aiohttp.ClientTimeout(total=answer_within, connect=min(CONNECT_TIMEOUT, answer_within))
    headers = {"User-Agent": f"eidos-cli/{__version__}", "Accept": "application/json"}
    unreachable = f"cannot reach eidosd at {base}"
    try:
        async with (
            aiohttp.ClientSession(timeout=limits, headers=headers) as http,
            http.request(method, url, json=json_body, params=params) as resp,
        ):
            answer = await _read_capped(resp, url)
            try:
                doc: Any = json.loads(answer)
            except (ValueError, RecursionError):  # not JSON, or nested deeper than any envelope: not eidosd
                doc = _NOT_JSON
            if resp.status == 200 and doc is not _NOT_JSON:
                return doc
            message = doc.get("message") if isinstance(doc, dict) else None
            error = _BY_STATUS.get(resp.status, UnavailableError)
            raise error(f"{url}: {resp.status} {message or resp.reason or 'unexpected answer'}")
    # Most specific first: aiohttp's connect timeout is also a TimeoutError, its DNS and TLS
    # failures are also connector errors.
    except aiohttp.ConnectionTimeoutError:
        raise TimeoutExceededError(
            f"{unreachable}: no connection within {limits.connect:g}s; are the host and port right? ({FLAG})"
        ) from None
    except TimeoutError:
        raise TimeoutExceededError(f"eidosd at {base} gave no answer within {answer_within:g}s ({FLAG})") from None
    except aiohttp.ClientConnectorDNSError as exc:
        raise UnavailableError(
            f"{unreachable}: host {exc.host!r} not found ({_reason(exc.os_error)}); check the host name ({FLAG})"
        ) from None
    except aiohttp.ClientSSLError as exc:
        raise UnavailableError(f"{unreachable}: TLS failed ({_reason(exc.os_error)}) ({FLAG})") from None
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, ConnectionRefusedError):
            raise UnavailableError(f"{unreachable}: connection refused; is it running? ({FLAG})") from None
        raise UnavailableError(f"{unreachable}: {_reason(exc.os_error)} ({FLAG})") from None
    except aiohttp.ServerDisconnectedError:
        raise UnavailableError(
            f"eidosd at {base} closed the connection without answering; is {base} eidosd? ({FLAG})"
        ) from None
    except aiohttp.ClientError as exc:
        raise UnavailableError(f"eidosd at {base}: {type(exc).__name__}: {exc} ({FLAG})") from None


def _reason(error: OSError) -> str:
    """An OS error's own words ("Name or service not known"), without "[Errno -2]"."""
    return str(error.strerror or error).lower()


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
