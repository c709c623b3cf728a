"""Strict inputs on /v1/recipe (issue 14), over a real socket: conflicting repeated query values
(gpu beside a different accelerator included) and an empty POST body are 400s in the JSON error
envelope. /v1/query's are in test_eidosd_query.py."""

from __future__ import annotations

import gzip

import pytest

from tests.support import MakeClient


@pytest.mark.parametrize(
    ("query", "parameters", "values"),
    [
        ("service=eks&service=gke", ["service"], ["eks", "gke"]),
        ("accelerator=h100&accelerator=gb200&intent=training", ["accelerator"], ["h100", "gb200"]),
        ("intent=training&intent=inference", ["intent"], ["training", "inference"]),
        ("nodes=4&nodes=8", ["nodes"], ["4", "8"]),
        ("gpu=h100&gpu=a100&accelerator=h100", ["gpu"], ["h100", "a100"]),
        # gpu is accelerator's alias: a different GPU under the other name conflicts too
        ("gpu=h100&accelerator=a100", ["gpu", "accelerator"], ["h100", "a100"]),
        ("accelerator=gb200&intent=training&gpu=B200", ["accelerator", "gpu"], ["gb200", "B200"]),
    ],
)
async def test_conflicting_query_values_are_400(
    make_client: MakeClient, query: str, parameters: list[str], values: list[str]
) -> None:
    client = await make_client()
    for _ in range(2):  # the second time too: a conflict is never answered from the query cache
        resp = await client.get(f"/v1/recipe?{query}")
        assert resp.status == 400
        body = await resp.json()
        assert body["code"] == "INVALID_REQUEST"
        # Pairwise, in the order sent: parameters[i] was sent with values[i] (one name when repeated).
        assert body["details"]["parameters"] == parameters
        assert body["details"]["values"] == values
        names = parameters * 2 if len(parameters) == 1 else parameters
        assert all(f"{name}={value}" in query for name, value in zip(names, values, strict=True))
        assert all(repr(v) in body["message"] for v in values), body["message"]
        assert "conflicting values" in body["message"]


@pytest.mark.parametrize(
    "query",
    [
        "service=eks&service=eks",
        "gpu=h100&accelerator=h100",
        "gpu=H100&accelerator=h100&gpu=h100",
        "service=eks&service=",  # an empty value is absent
        "nodes=4&nodes=%2B4",
        "accelerator=a100&gpu=any",  # any is the default, as absent (generated clients send it)
        "service=eks&service=any&os=&os=ubuntu",
    ],
)
async def test_agreeing_repeats_are_accepted(make_client: MakeClient, query: str) -> None:
    client = await make_client()
    resp = await client.get(f"/v1/recipe?{query}")
    assert resp.status == 200, await resp.text()
    single = query.split("&")[0]
    same = await client.get(f"/v1/recipe?{single}")
    assert await resp.json() == await same.json()


async def test_conflict_after_success_still_refused(make_client: MakeClient) -> None:
    client = await make_client()
    assert (await client.get("/v1/recipe?service=eks")).status == 200
    assert (await client.get("/v1/recipe?service=eks&service=gke")).status == 400
    assert (await client.get("/v1/recipe?service=eks")).status == 200


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\t\r\n "])
@pytest.mark.parametrize("content_type", ["application/json", "application/yaml"])
async def test_empty_post_body_is_400(make_client: MakeClient, data: bytes, content_type: str) -> None:
    client = await make_client()
    resp = await client.post("/v1/recipe", data=data, headers={"Content-Type": content_type})
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == "INVALID_REQUEST"
    assert body["message"].startswith("request body is empty")
    assert body["details"] == {"field": "body"}


@pytest.mark.parametrize("data", [b"{}", b"null", b"kind: recipeCriteria\n"])
async def test_minimal_post_bodies_still_give_the_base_recipe(make_client: MakeClient, data: bytes) -> None:
    client = await make_client()
    resp = await client.post("/v1/recipe", data=data)
    assert resp.status == 200
    assert (await resp.json())["criteria"]["service"] == "any"


async def test_compressed_nonempty_body_accepted(make_client: MakeClient) -> None:
    client = await make_client()
    resp = await client.post("/v1/recipe", data=gzip.compress(b"{}"), headers={"Content-Encoding": "gzip"})
    assert resp.status == 200
