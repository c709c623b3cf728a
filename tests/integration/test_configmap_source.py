"""The ConfigMap-watch RecipeSource against the emulated API server: directly, and inside an eidosd
process that is driven over HTTP while its ConfigMap changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from eidos_core.errors import NotFoundError, RecipeDataError, UnavailableError
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.configmap import ConfigMapSource
from tests.kube.emulator import KubeFixture
from tests.support import (
    NAME,
    NS,
    EidosdProcess,
    Follower,
    as_configmap,
    b_version,
    launch_eidosd,
    metric_value,
    publish,
    wait_until_async,
)


@pytest.fixture
def cluster(kube: KubeFixture) -> KubeFixture:
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    return kube


@pytest.fixture
async def follow(cluster: KubeFixture) -> AsyncIterator[Callable[..., Awaitable[tuple[ConfigMapSource, Follower]]]]:
    followers: list[Follower] = []

    async def start(**options: Any) -> tuple[ConfigMapSource, Follower]:
        source = ConfigMapSource(NS, NAME, **{"backoff_first": 0.05, "backoff_max": 0.2, **options})
        await source.load()
        follower = Follower(source)
        followers.append(follower)
        await cluster.emulator.wait_for_watches(1, "configmaps")
        return source, follower

    yield start
    for follower in followers:
        await follower.stop()


async def test_load_reads_the_configmap_with_flattened_keys(cluster: KubeFixture) -> None:
    publish(cluster, "2.1.0")
    store = await ConfigMapSource(NS, NAME).load()
    assert b_version(store) == "2.1.0"
    assert store.source == f"configmap:{NS}/{NAME}"
    assert sorted(store.overlays) == ["eks"] and store.base.name == "base"


async def test_load_fails_clearly_when_missing_or_unreachable(cluster: KubeFixture) -> None:
    with pytest.raises(NotFoundError, match=f"configmaps {NS}/{NAME} not found"):
        await ConfigMapSource(NS, NAME).load()
    await cluster.stop()
    with pytest.raises(UnavailableError, match="unreachable"):
        await ConfigMapSource(NS, NAME).load()


async def test_an_update_yields_a_new_store(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    publish(cluster, "2.2.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "2.2.0"


async def test_a_change_to_metadata_only_yields_nothing(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    obj = cluster.get("configmaps", NS, NAME)
    assert obj is not None
    obj["metadata"]["labels"] = {"touched": "yes"}
    cluster.put(obj)
    await follower.nothing_within(0.3)


async def test_an_invalid_update_is_reported_and_the_next_valid_one_is_taken(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    publish(cluster, "2.2.0", **{"overlays/broken.yaml": b"kind: recipeMetadata\nspec: [unclosed\n"})
    event = await follower.next()
    assert isinstance(event, RecipeDataError)
    assert "overlays/broken.yaml" in event.message or "overlays__broken.yaml" in event.message
    publish(cluster, "2.3.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "2.3.0"


async def test_a_dropped_stream_resumes_without_losing_changes(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    for abort in (False, True):  # a clean end (watch timeout) and a cut connection
        cluster.emulator.drop_watches("configmaps", abort=abort)
        publish(cluster, f"2.{2 + abort}.0")  # changed while the watch may be down
        event = await follower.next()
        assert isinstance(event, RecipeStore) and b_version(event) == f"2.{2 + abort}.0"
        await cluster.emulator.wait_for_watches(1, "configmaps")


async def test_410_gone_relists_and_picks_up_what_was_missed(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    # History is compacted and open watches get 410: only a fresh GET can see the change.
    publish(cluster, "2.5.0")
    first = await follower.next()
    assert isinstance(first, RecipeStore) and b_version(first) == "2.5.0"
    cluster.emulator.fail_next_watch(410, "configmaps")
    cluster.emulator.compact()
    cluster.emulator.drop_watches("configmaps")
    publish(cluster, "2.6.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "2.6.0"


async def test_expired_watch_relists(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    cluster.emulator.expire_watches("configmaps")
    await cluster.emulator.wait_for_watches(1, "configmaps")
    publish(cluster, "2.7.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "2.7.0"


async def test_a_deleted_configmap_is_reported_once_and_recreation_is_followed(
    cluster: KubeFixture, follow: Any
) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    assert cluster.delete("configmaps", NS, NAME)
    event = await follower.next()
    assert isinstance(event, NotFoundError) and "deleted" in event.message
    await follower.nothing_within(0.3)
    publish(cluster, "3.0.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "3.0.0"


async def test_the_api_going_away_is_survived(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    await cluster.stop()
    await asyncio.sleep(0.3)  # a few failed reconnects, backing off
    await cluster.start()
    await cluster.emulator.wait_for_watches(1, "configmaps")
    publish(cluster, "2.8.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "2.8.0"


# --- the watch's layers, driven through the emulator: relist, resume, backoff ------------------------


class Sleeps:
    """The source's ``sleep``: records every backoff delay, then waits only a moment."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._slept = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self._slept.set()
        await asyncio.sleep(0.01)

    async def until(self, count: int, within: float = 5.0) -> list[float]:
        async with asyncio.timeout(within):
            while len(self.delays) < count:
                self._slept.clear()
                await self._slept.wait()
        return self.delays


def gets(cluster: KubeFixture) -> int:
    """How many times the ConfigMap itself was read (not watched): the source's (re)lists."""
    path = f"/api/v1/namespaces/{NS}/configmaps/{NAME}"
    return sum(1 for r in cluster.emulator if r.method == "GET" and str(r.url.path) == path)


async def next_version(follower: Follower) -> str:
    event = await follower.next()
    assert isinstance(event, RecipeStore), event
    return b_version(event)


HALF = 0.5  # rand() for the backoff's jitter: each delay is then 3/4 of its ceiling


async def test_410_gone_after_a_working_watch_gets_again_at_once(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    sleeps = Sleeps()
    _, follower = await follow(sleep=sleeps)
    publish(cluster, "2.2.0")
    assert await next_version(follower) == "2.2.0"
    before = gets(cluster)
    publish(cluster, "2.3.0")
    cluster.emulator.compact()  # before the open watch could send it: only a get can show 2.3.0 now
    cluster.emulator.drop_watches("configmaps")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "2.3.0"
    assert gets(cluster) == before + 1  # exactly one relist...
    assert sleeps.delays == []  # ...and no backoff before it


async def test_410_straight_after_a_get_backs_off_instead_of_spinning(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    sleeps = Sleeps()
    _, follower = await follow(sleep=sleeps, rand=lambda: HALF)
    publish(cluster, "2.2.0")  # a watch event: the cursor no longer comes from a get
    assert await next_version(follower) == "2.2.0"
    before = gets(cluster)
    cluster.emulator.fail_next_watch(410, "configmaps", count=3)
    cluster.emulator.drop_watches("configmaps")
    # 410: get at once; the watch from that get's version 410 again: back off, get; again: longer.
    await sleeps.until(2)
    publish(cluster, "2.3.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "2.3.0"
    assert sleeps.delays == pytest.approx([0.75 * 0.05, 0.75 * 0.1])
    assert gets(cluster) == before + 3


async def test_api_errors_back_off_exponentially_and_a_working_watch_resets_it(
    cluster: KubeFixture, follow: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="eidos_core.kube.watching")
    publish(cluster, "2.1.0")
    sleeps = Sleeps()
    _, follower = await follow(sleep=sleeps, rand=lambda: HALF)
    before = gets(cluster)
    cluster.emulator.fail_next("watch", "configmaps", 500, count=4)
    cluster.emulator.drop_watches("configmaps")
    await sleeps.until(4)
    publish(cluster, "2.2.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "2.2.0"
    # 0.05 doubling, capped at backoff_max=0.2; each the upper 3/4 of its ceiling with rand()=0.5
    assert sleeps.delays == pytest.approx([0.0375, 0.075, 0.15, 0.15])
    assert "Kubernetes API error 500 on watch configmaps eidos/recipe-data" in caplog.text
    assert "retrying in" in caplog.text

    # The watch delivered an event: the next failure waits the first delay again.
    cluster.emulator.fail_next("watch", "configmaps", 503)
    cluster.emulator.drop_watches("configmaps")
    await sleeps.until(5)
    assert sleeps.delays[4] == pytest.approx(0.0375)
    publish(cluster, "2.3.0")
    assert await next_version(follower) == "2.3.0"
    assert gets(cluster) == before  # an API error resumes from the cursor: no relist


async def test_an_error_event_inside_the_stream_backs_off_and_resumes(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    sleeps = Sleeps()
    _, follower = await follow(sleep=sleeps, rand=lambda: HALF)
    before = gets(cluster)
    cluster.emulator.fail_next_watch(500, "configmaps", message="etcdserver: leader changed")
    cluster.emulator.drop_watches("configmaps")
    assert await sleeps.until(1) == pytest.approx([0.0375])
    publish(cluster, "2.2.0")
    assert await next_version(follower) == "2.2.0"
    assert gets(cluster) == before  # not a 410: resumed from the cursor


async def test_a_configmap_near_the_size_limit_comes_through_the_watch(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    publish(cluster, "2.2.0", **{"notes.txt": b"# padding\n" * 100_000})  # one watch line of about 1 MB
    assert await next_version(follower) == "2.2.0"


async def test_retry_after_is_honoured_on_watch_and_get(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    sleeps = Sleeps()
    _, follower = await follow(sleep=sleeps, rand=lambda: HALF)
    cluster.emulator.fail_next("watch", "configmaps", 429, retry_after=3)
    cluster.emulator.drop_watches("configmaps")
    await sleeps.until(1)
    publish(cluster, "2.2.0")
    assert await next_version(follower) == "2.2.0"
    cluster.emulator.fail_next("get", "configmaps", 429, retry_after=2)
    cluster.emulator.expire_watches("configmaps")  # 410: get again, which is throttled
    await sleeps.until(2)
    publish(cluster, "2.3.0")
    assert await next_version(follower) == "2.3.0"
    assert sleeps.delays == [3.0, 2.0]  # the server's wait, not our 0.0375


async def test_forbidden_watch_backs_off_naming_the_verb_and_recovers(
    cluster: KubeFixture, follow: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="eidos_core.kube.watching")
    publish(cluster, "2.1.0")
    sleeps = Sleeps()
    _, follower = await follow(sleep=sleeps, rand=lambda: HALF)
    cluster.emulator.forbid("watch", "configmaps")
    cluster.emulator.drop_watches("configmaps")
    delays = await sleeps.until(3)
    assert delays[:3] == pytest.approx([0.0375, 0.075, 0.15])
    assert "grant RBAC verb 'watch' on resource 'configmaps'" in caplog.text
    await follower.nothing_within(0.1)  # API failures are logged, not reload errors
    cluster.emulator.allow()
    publish(cluster, "2.2.0")
    assert await next_version(follower) == "2.2.0"


@pytest.mark.parametrize("bookmark", [True, False])
async def test_a_bookmark_moves_the_cursor_past_a_compaction(cluster: KubeFixture, follow: Any, bookmark: bool) -> None:
    publish(cluster, "2.1.0")
    source, follower = await follow()
    other = {**as_configmap({}), "metadata": {"name": "unrelated", "namespace": NS}}
    cluster.put(other)  # the server's resourceVersion moves on; this watch is not told
    now = str(cluster.emulator.resource_version)
    assert source.resource_version != now
    if bookmark:
        cluster.emulator.send_bookmarks("configmaps")

        async def moved() -> bool:  # a bookmark yields no event to wait on
            return bool(source.resource_version == now)

        await wait_until_async(moved, "the bookmark moving the cursor", 5, every=0.01)
    before = gets(cluster)
    await cluster.stop()  # no watch open while history is compacted and the change is made
    cluster.emulator.compact()
    publish(cluster, "2.9.0")
    await cluster.start()
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "2.9.0"
    # From the bookmark the watch resumes within the kept history; from before it, 410 and a get.
    assert gets(cluster) == before + (0 if bookmark else 1)


async def test_a_configmap_deleted_while_the_api_was_away_is_reported_once(cluster: KubeFixture, follow: Any) -> None:
    publish(cluster, "2.1.0")
    _, follower = await follow()
    await cluster.stop()
    assert cluster.delete("configmaps", NS, NAME)
    cluster.emulator.compact()  # the DELETED event is not in any history a watch could resume from
    await cluster.start()
    event = await follower.next()  # 410, then a get that finds nothing
    assert isinstance(event, NotFoundError) and f"configmaps {NS}/{NAME} not found" in event.message
    await follower.nothing_within(0.3)  # still absent: got again with backoff, quietly
    publish(cluster, "3.1.0")
    event = await follower.next()
    assert isinstance(event, RecipeStore) and b_version(event) == "3.1.0"


# --- eidosd with RECIPE_CONFIGMAP, a separate process talking HTTP to the emulator ---------------


@pytest.fixture
async def eidosd(cluster: KubeFixture, tmp_path: Path) -> AsyncIterator[EidosdProcess]:
    """eidosd following the ConfigMap, answering /health; not ready while the ConfigMap is missing."""
    server = launch_eidosd(tmp_path, RECIPE_CONFIGMAP=f"{NS}/{NAME}", KUBECONFIG=str(cluster.kubeconfig))
    try:
        # In a thread: the emulated API server runs on this event loop.
        await asyncio.to_thread(server.wait_ready, 15, "/health")
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def get_json(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def served_b_version(http: aiohttp.ClientSession, base: str) -> str | None:
    status, doc = await get_json(http, base + "/v1/recipe?service=eks")
    if status != 200:
        return None
    return str(next(ref["version"] for ref in doc["componentRefs"] if ref["name"] == "b"))


async def test_eidosd_serves_a_changed_overlay_within_two_seconds(cluster: KubeFixture, eidosd: EidosdProcess) -> None:
    publish(cluster, "2.1.0")
    async with aiohttp.ClientSession() as http:

        async def serves(version: str) -> bool:
            return await served_b_version(http, eidosd.url) == version

        await wait_until_async(lambda: serves("2.1.0"), "2.1.0 served", 10)
        await cluster.emulator.wait_for_watches(1, "configmaps")
        publish(cluster, "2.2.0")
        await wait_until_async(lambda: serves("2.2.0"), "2.2.0 served", 2)

        async def errors() -> float:
            async with http.get(eidosd.url + "/metrics") as resp:
                return metric_value(await resp.text(), "eidos_recipe_reload_errors_total")

        # A broken update is counted and the last good data keeps being served.
        before = await errors()
        publish(cluster, "9.9.9", **{"overlays/broken.yaml": b"kind: recipeMetadata\nspec: [\n"})
        await wait_until_async(lambda: counted_above(errors, before), "the broken update counted", 2)
        assert await served_b_version(http, eidosd.url) == "2.2.0"

        # Deleting the ConfigMap keeps serving too: once eidosd has seen the DELETED event (counted
        # as a rejected update, and logged as the deletion), the last good data are still served.
        before = await errors()
        assert cluster.delete("configmaps", NS, NAME)
        await wait_until_async(lambda: counted_above(errors, before), "the deletion counted", 2)
        assert f"ConfigMap {NS}/{NAME} was deleted" in eidosd.log()
        assert await served_b_version(http, eidosd.url) == "2.2.0"


async def counted_above(errors: Callable[[], Awaitable[float]], before: float) -> bool:
    return await errors() > before


async def test_eidosd_is_not_ready_until_the_api_answers(cluster: KubeFixture, eidosd: EidosdProcess) -> None:
    # The ConfigMap does not exist yet, then the API goes away entirely; /ready stays 503 throughout.
    async with aiohttp.ClientSession() as http:
        status, doc = await get_json(http, eidosd.url + "/ready")
        assert status == 503 and doc["reason"] == "recipe data not loaded"
        await cluster.stop()
        await asyncio.sleep(0.5)  # the API away for a while (the point of the test)
        status, _ = await get_json(http, eidosd.url + "/ready")
        assert status == 503
        status, doc = await get_json(http, eidosd.url + "/v1/recipe?service=eks")
        assert status == 503, doc
        await cluster.start()
        publish(cluster, "2.4.0")

        async def ready() -> bool:
            async with http.get(eidosd.url + "/ready") as resp:
                return resp.status == 200

        await wait_until_async(ready, "/ready 200 once the API answers", 15)
        assert await served_b_version(http, eidosd.url) == "2.4.0"
