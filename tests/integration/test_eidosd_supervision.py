"""The recipe-data follower outlives any data set and any crash (issue 9, item 2).

* A follower killed by an injected exception is logged with its trace, counted, restarted
  with backoff; /ready is 503 while it is down, and a later update is served.
* Data that raise something other than an EidosError (an integer past Python's 4,300-digit
  limit) are a counted reload error: the last good data stay, later good data are loaded,
  for a data directory and for a ConfigMap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from eidos_core import yaml
from eidos_core.errors import EidosError
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.base import ReloadEvent
from eidos_core.sources.configmap import ConfigMapSource
from eidosd.app import create_app
from eidosd.keys import FOLLOWER, RECIPES
from eidosd.settings import Settings
from tests.conftest import metadata_doc, mini_files
from tests.kube.emulator import KubeFixture
from tests.support import NAME, NS, Follower, metric_value, publish, wait_until_async

Client = TestClient[web.Request, web.Application]
HUGE_INT = "7" * 5000  # past Python's 4,300-digit int() limit: ValueError, not an EidosError
WITHIN = 10.0  # upper bound for waiting on the follower; never a timing assertion


async def metric(client: Client, name: str, labels: dict[str, str] | None = None) -> float:
    text = await (await client.get("/metrics")).text()
    try:
        return metric_value(text, name, labels)
    except KeyError:
        return 0.0


async def applied(client: Client, query: str = "service=eks") -> list[str]:
    resp = await client.get("/v1/recipe?" + query)
    assert resp.status == 200
    overlays: list[str] = (await resp.json())["metadata"]["appliedOverlays"]
    return overlays


class CrashingSource:
    """A RecipeSource whose update stream raises RuntimeError until the test calls ``heal``;
    after that it yields ``later`` once and then waits, like a source that never changes."""

    description = "crashing"

    def __init__(self, first: RecipeStore, later: RecipeStore) -> None:
        self.first = first
        self.later = later
        self.crashes = 0
        self.healed = False
        self.go = asyncio.Event()

    def heal(self) -> None:
        self.healed = True

    async def load(self) -> RecipeStore:
        return self.first

    async def updates(self) -> AsyncIterator[ReloadEvent]:
        await self.go.wait()
        if not self.healed:
            self.crashes += 1
            raise RuntimeError("injected follower crash")
        yield self.later
        await asyncio.Event().wait()


async def test_a_killed_follower_is_logged_counted_restarted_and_unready_meanwhile(
    aiohttp_client: Any, make_store: Callable[..., RecipeStore], caplog: pytest.LogCaptureFixture
) -> None:
    later = make_store(eks={"criteria": {"service": "eks"}, "componentRefs": [{"name": "a", "version": "9.9.9"}]})
    source = CrashingSource(make_store(), later)
    app = create_app(Settings(), source)
    client: Client = await aiohttp_client(app)
    await wait_until_async(lambda: _status(client, "/ready", 200), "first load", WITHIN)
    assert await applied(client) == ["base"]

    caplog.set_level(logging.ERROR, logger="eidosd")
    source.go.set()
    # Down (crashed, waiting to restart): not ready, with the reason; the old data are still served.
    await wait_until_async(lambda: _status(client, "/ready", 503), "/ready 503 after the crash", WITHIN)
    body = await (await client.get("/ready")).json()
    assert "recipe-data" in body["reason"] and "RuntimeError" in body["reason"]
    assert await applied(client) == ["base"]

    source.heal()
    await wait_until_async(lambda: _applied_is(client, ["base", "eks"]), "the later update served", WITHIN)
    await wait_until_async(lambda: _status(client, "/ready", 200), "/ready 200 after the restart", WITHIN)
    assert app[FOLLOWER].running

    assert source.crashes >= 1
    restarts = await metric(client, "eidos_background_task_restarts_total", {"task": "recipe-data"})
    assert restarts == source.crashes == app[FOLLOWER].restarts
    crash_logs = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(crash_logs) == source.crashes
    assert "recipe-data" in crash_logs[0].getMessage() and "restarting" in crash_logs[0].getMessage()
    # The crash was not a data problem: no reload error, and the first load was not repeated.
    assert await metric(client, "eidos_recipe_reload_errors_total") == 0
    assert await metric(client, "eidos_recipe_reload_total") == 2


async def _status(client: Client, path: str, status: int) -> bool:
    return (await client.get(path)).status == status


async def _applied_is(client: Client, overlays: list[str]) -> bool:
    return await applied(client) == overlays


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def huge_int_overlay(name: str = "eks", service: str = "eks") -> bytes:
    return (
        f"kind: recipeMetadata\napiVersion: eidos.nvidia.com/v1alpha1\nmetadata: {{name: {name}}}\n"
        f"spec:\n  criteria: {{service: {service}}}\n  componentRefs:\n"
        f"    - name: a\n      overrides: {{replicas: {HUGE_INT}}}\n"
    ).encode()


async def test_directory_with_a_huge_integer_is_a_counted_reload_error(
    aiohttp_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_files(tmp_path, mini_files())
    app = create_app(Settings(recipe_data_path=str(tmp_path)))
    client: Client = await aiohttp_client(app)
    await wait_until_async(lambda: _status(client, "/ready", 200), "first load", WITHIN)
    store = app[RECIPES].store
    assert store is not None

    caplog.set_level(logging.ERROR, logger="eidosd")
    (tmp_path / "overlays" / "eks.yaml").write_bytes(huge_int_overlay())
    await wait_until_async(
        lambda: _metric_is(client, "eidos_recipe_reload_errors_total", 1), "the reload error counted", WITHIN
    )
    assert await applied(client) == ["base"]  # the last good data are still served
    ready = await client.get("/ready")
    assert ready.status == 200 and (await ready.json())["recipeVersion"] == store.version
    assert any("rejected" in r.getMessage() and "still serving" in r.getMessage() for r in caplog.records)

    spec = {"criteria": {"service": "eks"}, "componentRefs": [{"name": "a", "version": "7.7.7"}]}
    (tmp_path / "overlays" / "eks.yaml").write_text(yaml.dump(metadata_doc("eks", spec)))
    await wait_until_async(lambda: _applied_is(client, ["base", "eks"]), "later good data loaded", WITHIN)
    assert await metric(client, "eidos_background_task_restarts_total", {"task": "recipe-data"}) == 0
    assert await metric(client, "eidos_recipe_reload_errors_total") == 1


async def _metric_is(client: Client, name: str, value: float) -> bool:
    return await metric(client, name) == value


async def test_configmap_with_a_huge_integer_is_a_reload_error_and_the_watch_goes_on(kube: KubeFixture) -> None:
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    cluster = kube
    publish(cluster, "2.1.0")
    source = ConfigMapSource(NS, NAME, backoff_first=0.05, backoff_max=0.2)
    await source.load()
    follower = Follower(source)
    await cluster.emulator.wait_for_watches(1, "configmaps")
    try:
        await _huge_then_good(cluster, follower)
    finally:
        await follower.stop()


async def _huge_then_good(cluster: KubeFixture, follower: Follower) -> None:
    publish(cluster, "2.2.0", **{"overlays/gke.yaml": huge_int_overlay("gke", "gke")})
    event = await follower.next()  # before: the ValueError passed for a watch failure, and no event came
    assert isinstance(event, EidosError)
    assert "gke.yaml" in event.message or "digit" in event.message
    publish(cluster, "2.3.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore)
    ref = next(r for r in event.overlays["eks"].component_refs if r.name == "b")
    assert ref.version == "2.3.0"
