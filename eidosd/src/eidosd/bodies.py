"""Request bodies: decompressed under the size limit, parsed off the event loop.

* ``Content-Encoding`` is handled here, not by aiohttp (the app sets ``auto_decompress`` off):
  ``zlib``'s ``max_length`` stops inflating at MAX_BODY_BYTES + 1, so a gzip bomb costs the
  same as a body of the limit's size and is refused with 413. Unknown codings are 415 and
  corrupt data 400, in the JSON envelope, instead of aiohttp's 500 or plain-text 400.
* Parsing runs in a small dedicated thread pool: a 64 KB YAML body takes tens of milliseconds
  of CPU, which on the loop would delay every other request (probes included) by as much. One
  thread leaves the loop a GIL share under any mix of bodies, and bounds the number of
  parser instances (the loader keeps one per thread).
"""

from __future__ import annotations

import asyncio
import functools
import zlib
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from eidos_core import yaml
from eidos_core.errors import EidosError, InvalidRequestError
from eidos_core.recipe.criteria import Criteria, criteria_from_document

PARSE_THREADS = 1
SOURCE = "request body"


class PayloadTooLargeError(EidosError):
    code = "PAYLOAD_TOO_LARGE"
    http_status = 413
    exit_code = 2
    retryable = False


class RequestTimeoutError(EidosError):
    code = "REQUEST_TIMEOUT"
    http_status = 408
    exit_code = 5
    retryable = True


class UnsupportedEncodingError(EidosError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415
    exit_code = 2
    retryable = False


_GZIP_WBITS = 16 + zlib.MAX_WBITS


def _wbits(coding: str, body: bytes) -> int:
    if coding in ("gzip", "x-gzip"):
        return _GZIP_WBITS
    if coding == "deflate":
        # RFC 9110 deflate is zlib-wrapped, but some clients send raw deflate (as aiohttp accepts):
        # a zlib stream's first byte has compression method 8 in its low nibble.
        return zlib.MAX_WBITS if body[0] & 0x0F == 8 else -zlib.MAX_WBITS
    raise UnsupportedEncodingError(
        f"unsupported Content-Encoding {coding!r} (supported: gzip, deflate, identity)",
        details={"contentEncoding": coding, "supported": ["gzip", "deflate", "identity"]},
    )


async def read_body(request: web.Request, seconds: float) -> bytes:
    """The request's body, as sent (still content-coded), within ``seconds`` (READ_TIMEOUT):
    a 408 otherwise."""
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise RequestTimeoutError(f"request body not received within {seconds:g}s") from None


def decode_body(body: bytes, content_encoding: str, max_bytes: int) -> bytes:
    """``body`` without its content coding; never more than ``max_bytes`` are inflated."""
    codings = [c for c in (part.strip().lower() for part in content_encoding.split(",")) if c and c != "identity"]
    if len(codings) > 1:
        raise UnsupportedEncodingError(
            f"more than one Content-Encoding ({content_encoding!r}); send one of gzip, deflate",
            details={"contentEncoding": content_encoding, "supported": ["gzip", "deflate", "identity"]},
        )
    if len(body) > max_bytes:
        raise PayloadTooLargeError(f"request body is larger than {max_bytes} bytes")
    if not codings or not body:
        return body
    coding = codings[0]
    wbits = _wbits(coding, body)
    out: list[bytes] = []
    total = 0
    data = body
    while data:  # gzip allows several members one after another (RFC 1952 §2.2)
        inflater = zlib.decompressobj(wbits)
        try:
            chunk = inflater.decompress(data, max_bytes - total + 1)
        except zlib.error as exc:
            raise InvalidRequestError(f"{SOURCE}: invalid {coding} data ({exc})", details={"field": "body"}) from None
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLargeError(f"request body is larger than {max_bytes} bytes after {coding} decoding")
        if not inflater.eof:
            raise InvalidRequestError(f"{SOURCE}: truncated {coding} data", details={"field": "body"})
        out.append(chunk)
        data = inflater.unused_data
        if data and wbits != _GZIP_WBITS:
            raise InvalidRequestError(f"{SOURCE}: data after the end of the {coding} stream", details={"field": "body"})
    return b"".join(out)


def is_json(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type (parameters such as charset aside)."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def parse_criteria_body(body: bytes, content_encoding: str, max_bytes: int, content_type: str = "") -> Criteria:
    """A recipeCriteria body (JSON or YAML, optionally compressed) as criteria (blocking).

    A body sent as JSON must be JSON, and its errors are JSON's (line, column, what was
    expected); any other body is read as YAML, of which JSON is a subset.
    """
    text = decode_body(body, content_encoding, max_bytes)
    doc = yaml.load(text, source=SOURCE, limits=_limits(max_bytes), json_only=is_json(content_type))
    return criteria_from_document(doc, source=SOURCE)


@functools.cache
def _limits(max_bytes: int) -> yaml.Limits:
    # The loader's own size check agrees with the body limit; its other limits (depth, nodes,
    # digits) keep what a body of that size can make the parser do bounded.
    return yaml.DEFAULT_LIMITS.with_size(max_bytes)


class BodyParser:
    """Parses request bodies in its own threads (see the module docstring)."""

    def __init__(self, max_bytes: int, *, threads: int = PARSE_THREADS) -> None:
        self.max_bytes = max_bytes
        # Threads start on first use, so an app that never parses a body holds none.
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="eidosd-body")

    async def criteria(self, body: bytes, content_encoding: str, content_type: str = "") -> Criteria:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, parse_criteria_body, body, content_encoding, self.max_bytes, content_type
        )

    def close(self) -> None:
        # A parse still running is bounded by the body limit; don't make shutdown wait for it.
        self._executor.shutdown(wait=False, cancel_futures=True)
