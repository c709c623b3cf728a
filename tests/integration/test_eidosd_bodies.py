"""POST /v1/recipe bodies: Content-Encoding decoded by eidosd under the body limit, every
refusal a 4xx in the JSON envelope (issue 9, items 3 and 4)."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from eidos_core.errors import InvalidRequestError
from eidosd.app import create_app
from eidosd.bodies import PayloadTooLargeError, UnsupportedEncodingError, decode_body
from eidosd.settings import Settings

Client = TestClient[web.Request, web.Application]
BODY = json.dumps({"kind": "recipeCriteria", "spec": {"service": "gke", "os": "cos"}}).encode()
ENVELOPE = ["code", "message", "details", "requestId", "timestamp", "retryable"]


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.fixture
async def client(aiohttp_client: Any) -> Client:
    c: Client = await aiohttp_client(create_app(Settings()))
    return c


async def post(client: Client, data: bytes, encoding: str) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/v1/recipe", data=data, headers={"Content-Encoding": encoding})
    return resp.status, await resp.json()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("GZIP", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
        ("identity", lambda b: b),
        ("gzip, identity", gzip.compress),
    ],
)
async def test_compressed_bodies_are_answered_like_plain_ones(client: Client, encoding: str, encode: Any) -> None:
    plain = await (await client.post("/v1/recipe", data=BODY)).json()
    status, doc = await post(client, encode(BODY), encoding)
    assert status == 200
    assert doc == plain and "gke-cos" in doc["metadata"]["appliedOverlays"]


async def test_gzip_bomb_is_413_in_the_envelope(client: Client) -> None:
    bomb = gzip.compress(b"metadata: {}\n#" + b"x" * (4 * 1024 * 1024), 9)
    assert len(bomb) < 64 * 1024  # within the limit as sent; 4 MiB once inflated
    status, doc = await post(client, bomb, "gzip")
    assert status == 413
    assert list(doc) == ENVELOPE[:2] + ENVELOPE[3:]
    assert doc["code"] == "PAYLOAD_TOO_LARGE" and "65536" in doc["message"] and doc["retryable"] is False


@pytest.mark.parametrize(
    ("data", "encoding", "status", "code", "needle"),
    [
        (b"not gzip at all", "gzip", 400, "INVALID_REQUEST", "invalid gzip data"),
        (gzip.compress(BODY)[:-12], "gzip", 400, "INVALID_REQUEST", "truncated gzip data"),
        (zlib.compress(BODY) + b"junk", "deflate", 400, "INVALID_REQUEST", "data after the end"),
        (BODY, "br", 415, "UNSUPPORTED_MEDIA_TYPE", "unsupported Content-Encoding 'br'"),
        (BODY, "compress", 415, "UNSUPPORTED_MEDIA_TYPE", "supported: gzip, deflate, identity"),
        (gzip.compress(gzip.compress(BODY)), "gzip, gzip", 415, "UNSUPPORTED_MEDIA_TYPE", "more than one"),
    ],
)
async def test_bad_encodings_are_4xx_in_the_envelope(
    client: Client, data: bytes, encoding: str, status: int, code: str, needle: str
) -> None:
    got, doc = await post(client, data, encoding)
    assert got == status
    assert doc["code"] == code and needle in doc["message"] and doc["retryable"] is False
    assert "requestId" in doc


async def test_bad_encodings_are_not_server_errors_in_metrics(client: Client) -> None:
    await post(client, b"not gzip", "gzip")
    await post(client, BODY, "br")
    text = await (await client.get("/metrics")).text()
    assert 'status="500"' not in text


def test_decode_body_limit_is_exact() -> None:
    limit = 1000
    assert decode_body(gzip.compress(b"a" * limit), "gzip", limit) == b"a" * limit
    with pytest.raises(PayloadTooLargeError):
        decode_body(gzip.compress(b"a" * (limit + 1)), "gzip", limit)
    with pytest.raises(PayloadTooLargeError):
        decode_body(b"a" * (limit + 1), "", limit)


def test_decode_body_gzip_members_share_the_limit() -> None:
    member = gzip.compress(b"a" * 600)
    assert decode_body(member + gzip.compress(b"b" * 300), "gzip", 1000) == b"a" * 600 + b"b" * 300
    with pytest.raises(PayloadTooLargeError):
        decode_body(member + member, "gzip", 1000)


def test_decode_body_errors() -> None:
    with pytest.raises(UnsupportedEncodingError):
        decode_body(b"x", "zstd", 100)
    with pytest.raises(InvalidRequestError, match="invalid deflate data"):
        decode_body(b"\x78\x9c garbage", "deflate", 100)
    assert decode_body(b"", "gzip", 100) == b""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"kind": "recipeCriteria", "spec": {"service": "eks",}}', "Expecting property name"),
        (b'{"kind": "recipeCriteria", "kind": "recipeCriteria"}', "duplicate key 'kind'"),
        (b"kind: recipeCriteria\nspec: {}\n", "Expecting value"),
        (b'{"spec": {"nodes": NaN}}', "NaN is not a JSON number"),
    ],
)
async def test_a_body_sent_as_json_gets_json_errors(client: Client, body: bytes, reason: str) -> None:
    """Content-Type: application/json means JSON: the error is JSON's, with its line and column
    where it has them (the same body without the header is read as YAML)."""
    resp = await client.post("/v1/recipe", data=body, headers={"Content-Type": "application/json; charset=utf-8"})
    doc = await resp.json()
    assert resp.status == 400, doc
    assert doc["code"] == "INVALID_REQUEST"
    assert doc["message"].startswith("request body") and "invalid JSON: " + reason in doc["message"], doc
    assert "YAML" not in doc["message"] and "mapping values" not in doc["message"]
    assert None not in doc["details"].values(), doc  # an unknown position is left out, not null


async def test_yaml_and_untyped_bodies_still_read_as_yaml(client: Client) -> None:
    yaml_body = b"kind: recipeCriteria\nspec:\n  service: gke\n  os: cos\n"
    for content_type in ("application/yaml", "text/plain", "application/octet-stream"):
        resp = await client.post("/v1/recipe", data=yaml_body, headers={"Content-Type": content_type})
        assert resp.status == 200, (content_type, await resp.text())
    # JSON that YAML also reads, sent as JSON, answers as before.
    resp = await client.post("/v1/recipe", data=BODY, headers={"Content-Type": "application/vnd.eidos+json"})
    assert resp.status == 200
