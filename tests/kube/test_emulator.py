"""Self-test of the Kubernetes API emulator, driven only through the real kubernetes_asyncio client."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from tests.kube.emulator import KubeFixture

NS = "default"


@pytest.fixture
async def api(kube: KubeFixture) -> AsyncIterator[Any]:
    await config.load_kube_config(config_file=str(kube.kubeconfig))
    async with client.ApiClient() as api_client:
        yield api_client


@pytest.fixture
def v1(api: Any) -> Any:
    return client.CoreV1Api(api)


def status_of(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    assert exc.value.body is not None
    body: dict[str, Any] = json.loads(exc.value.body)
    assert body["kind"] == "Status"
    assert body["code"] == exc.value.status
    return body


def text_of(exc: pytest.ExceptionInfo[ApiException]) -> str:
    body: Any = exc.value.body  # typed bytes, but the client hands over the decoded text
    return str(body)


async def raw_get(api: Any, path: str) -> Any:
    return await api.call_api(path, "GET", response_types_map={200: "object"}, _return_http_data_only=True)


async def take(stream: Any, count: int) -> list[dict[str, Any]]:
    """The next ``count`` watch events (bounded in time so a missing event fails instead of hanging)."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        async for event in stream:
            events.append(event)
            if len(events) == count:
                break
    return events


async def drain(stream: Any) -> list[dict[str, Any]]:
    """All events until the stream ends."""
    async with asyncio.timeout(5):
        return [event async for event in stream]


def configmap(name: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": data or {}}


# --- CRUD and resource versions -------------------------------------------------------------------


async def test_crud_with_increasing_resource_versions(v1: Any) -> None:
    created = await v1.create_namespaced_config_map(NS, configmap("a", {"k": "v"}))
    rv1 = int(created.metadata.resource_version)
    assert created.metadata.uid and created.metadata.creation_timestamp

    fetched = await v1.read_namespaced_config_map("a", NS)
    assert fetched.data == {"k": "v"} and fetched.metadata.resource_version == str(rv1)

    fetched.data = {"k": "v2"}
    replaced = await v1.replace_namespaced_config_map("a", NS, fetched)
    rv2 = int(replaced.metadata.resource_version)
    assert rv2 > rv1 and replaced.data == {"k": "v2"}

    merged = await v1.patch_namespaced_config_map(
        "a", NS, {"data": {"extra": "1"}}, _content_type="application/merge-patch+json"
    )
    strategic = await v1.patch_namespaced_config_map("a", NS, {"metadata": {"labels": {"app": "x"}}})
    assert merged.data == {"k": "v2", "extra": "1"}
    assert int(strategic.metadata.resource_version) > int(merged.metadata.resource_version) > rv2

    json_patched = await v1.patch_namespaced_config_map("a", NS, [{"op": "remove", "path": "/data/extra"}])
    assert json_patched.data == {"k": "v2"}

    listed = await v1.list_namespaced_config_map(NS)
    assert [cm.metadata.name for cm in listed.items] == ["a"]
    assert listed.metadata.resource_version == json_patched.metadata.resource_version  # the global RV

    await v1.delete_namespaced_config_map("a", NS)
    with pytest.raises(ApiException) as exc:
        await v1.read_namespaced_config_map("a", NS)
    body = status_of(exc)
    assert (exc.value.status, body["reason"]) == (404, "NotFound")
    assert body["message"] == 'configmaps "a" not found'


async def test_list_shape_and_empty_collections(api: Any, v1: Any, kube: KubeFixture) -> None:
    raw = await raw_get(api, "/api/v1/namespaces/default/configmaps")
    assert raw["kind"] == "ConfigMapList" and raw["apiVersion"] == "v1" and raw["items"] == []
    assert int(raw["metadata"]["resourceVersion"]) == kube.emulator.resource_version

    policies = await client.CustomObjectsApi(api).list_cluster_custom_object("nvidia.com", "v1", "clusterpolicies")
    assert policies["kind"] == "ClusterPolicyList" and policies["items"] == []

    kube.put(configmap("b"))
    raw = await raw_get(api, "/api/v1/configmaps")  # all namespaces
    assert "kind" not in raw["items"][0]  # built-in lists leave TypeMeta off their items, like kube
    assert (await v1.list_config_map_for_all_namespaces()).items[0].metadata.name == "b"


async def test_no_op_update_keeps_resource_version(v1: Any) -> None:
    created = await v1.create_namespaced_config_map(NS, configmap("same", {"k": "v"}))
    again = await v1.replace_namespaced_config_map("same", NS, created)
    assert again.metadata.resource_version == created.metadata.resource_version


async def test_already_exists(v1: Any) -> None:
    await v1.create_namespaced_config_map(NS, configmap("a"))
    with pytest.raises(ApiException) as exc:
        await v1.create_namespaced_config_map(NS, configmap("a"))
    assert (exc.value.status, status_of(exc)["reason"]) == (409, "AlreadyExists")


async def test_replace_with_stale_resource_version_conflicts(v1: Any) -> None:
    stale = await v1.create_namespaced_config_map(NS, configmap("a", {"k": "1"}))
    await v1.patch_namespaced_config_map("a", NS, {"data": {"k": "2"}})
    stale.data = {"k": "3"}
    with pytest.raises(ApiException) as exc:
        await v1.replace_namespaced_config_map("a", NS, stale)
    body = status_of(exc)
    assert (exc.value.status, body["reason"]) == (409, "Conflict")
    assert "the object has been modified" in body["message"]
    assert (await v1.read_namespaced_config_map("a", NS)).data == {"k": "2"}


async def test_replace_missing_object_is_not_found(v1: Any) -> None:
    with pytest.raises(ApiException) as exc:
        await v1.replace_namespaced_config_map("nope", NS, configmap("nope"))
    assert exc.value.status == 404


async def test_server_side_apply_creates_then_updates(v1: Any) -> None:
    apply = {"_content_type": "application/apply-patch+yaml", "field_manager": "eidos", "force": True}
    created = await v1.patch_namespaced_config_map("ssa", NS, configmap("ssa", {"a": "1"}), **apply)
    assert created.data == {"a": "1"} and created.metadata.resource_version

    updated = await v1.patch_namespaced_config_map("ssa", NS, configmap("ssa", {"b": "2"}), **apply)
    assert updated.data == {"a": "1", "b": "2"}
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)

    with pytest.raises(ApiException) as exc:  # apply needs a field manager
        await v1.patch_namespaced_config_map("ssa", NS, configmap("ssa"), _content_type="application/apply-patch+yaml")
    assert exc.value.status == 422


async def test_dry_run_does_not_persist(v1: Any, kube: KubeFixture) -> None:
    await v1.create_namespaced_config_map(NS, configmap("dry"), dry_run="All")
    assert kube.get("configmaps", NS, "dry") is None


# --- validation -----------------------------------------------------------------------------------


async def test_configmap_over_one_mebibyte_is_invalid(v1: Any) -> None:
    await v1.create_namespaced_config_map(NS, configmap("full", {"k": "x" * (1024 * 1024)}))  # exactly at the limit
    half = base64.b64encode(b"y" * (512 * 1024)).decode()
    too_big = configmap("big", {"k": "x" * (512 * 1024 + 1)})
    too_big["binaryData"] = {"b": half}
    with pytest.raises(ApiException) as exc:
        await v1.create_namespaced_config_map(NS, too_big)
    body = status_of(exc)
    assert (exc.value.status, body["reason"]) == (422, "Invalid")
    assert "Too long: must have at most 1048576 bytes" in body["message"]


async def test_configmap_key_outside_charset_is_invalid(v1: Any) -> None:
    with pytest.raises(ApiException) as exc:
        await v1.create_namespaced_config_map(NS, configmap("keys", {"a/b.yaml": "x"}))
    body = status_of(exc)
    assert (exc.value.status, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "data[a/b.yaml]"
    assert "[-._a-zA-Z0-9]+" in body["message"]


async def test_names_and_namespaces_are_checked(v1: Any) -> None:
    with pytest.raises(ApiException) as exc:
        await v1.create_namespaced_config_map(NS, configmap("Not_A_Name"))
    assert exc.value.status == 422
    with pytest.raises(ApiException) as exc:
        await v1.create_namespaced_config_map("missing", configmap("a"))
    assert exc.value.status == 404 and status_of(exc)["message"] == 'namespaces "missing" not found'


# --- watch ----------------------------------------------------------------------------------------


async def test_watch_from_resource_version_sees_changes(v1: Any) -> None:
    await v1.create_namespaced_config_map(NS, configmap("a", {"k": "1"}))
    listed = await v1.list_namespaced_config_map(NS)
    rv = listed.metadata.resource_version
    await v1.patch_namespaced_config_map("a", NS, {"data": {"k": "2"}})  # after rv: must be replayed
    async with watch.Watch() as w:
        stream = w.stream(v1.list_namespaced_config_map, NS, resource_version=rv)
        first = await take(stream, 1)
        await v1.patch_namespaced_config_map("a", NS, {"data": {"k": "3"}})
        await v1.create_namespaced_config_map(NS, configmap("b"))
        await v1.delete_namespaced_config_map("a", NS)
        rest = await take(stream, 3)
    events = [(e["type"], e["object"].metadata.name) for e in first + rest]
    assert events == [("MODIFIED", "a"), ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    assert first[0]["object"].data == {"k": "2"} and rest[0]["object"].data == {"k": "3"}
    rvs = [int(e["object"].metadata.resource_version) for e in first + rest]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


async def test_watch_without_resource_version_starts_with_current_state(v1: Any, kube: KubeFixture) -> None:
    kube.put(configmap("seeded"))
    async with watch.Watch() as w:
        events = await take(w.stream(v1.list_namespaced_config_map, NS), 1)
    assert (events[0]["type"], events[0]["object"].metadata.name) == ("ADDED", "seeded")


async def test_watch_timeout_ends_stream_with_bookmark(v1: Any, kube: KubeFixture) -> None:
    rv = (await v1.list_namespaced_config_map(NS)).metadata.resource_version
    async with watch.Watch() as w:
        stream = w.stream(
            v1.list_namespaced_config_map, NS, resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=1
        )
        task = asyncio.create_task(drain(stream))  # the client connects on first iteration
        await kube.emulator.wait_for_watches()
        kube.emulator.send_bookmarks()
        events = await task  # ends on its own after timeoutSeconds
    assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"]  # on request, then at the timeout
    assert events[-1]["raw_object"]["metadata"]["resourceVersion"] == rv


async def test_watch_field_selector_on_name(v1: Any) -> None:
    rv = (await v1.list_namespaced_config_map(NS)).metadata.resource_version
    async with watch.Watch() as w:
        stream = w.stream(v1.list_namespaced_config_map, NS, resource_version=rv, field_selector="metadata.name=wanted")
        await v1.create_namespaced_config_map(NS, configmap("other"))
        await v1.create_namespaced_config_map(NS, configmap("wanted"))
        events = await take(stream, 1)
    assert events[0]["object"].metadata.name == "wanted"


async def test_scripted_410_on_next_watch(v1: Any, kube: KubeFixture) -> None:
    rv = (await v1.list_namespaced_config_map(NS)).metadata.resource_version
    kube.emulator.fail_next_watch(410, "configmaps")
    async with watch.Watch() as w:
        with pytest.raises(ApiException) as exc:
            await take(w.stream(v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=30), 1)
    assert exc.value.status == 410

    # Only the next watch was scripted; a watch that retries once on 410 (no timeout) then works.
    kube.emulator.fail_next_watch(410, "configmaps")
    async with watch.Watch() as w:
        stream = w.stream(v1.list_namespaced_config_map, NS, resource_version=rv)
        await v1.create_namespaced_config_map(NS, configmap("after"))
        events = await take(stream, 1)
    assert events[0]["object"].metadata.name == "after"


async def test_expire_watches_and_compaction(v1: Any, kube: KubeFixture) -> None:
    old_rv = (await v1.list_namespaced_config_map(NS)).metadata.resource_version
    await v1.create_namespaced_config_map(NS, configmap("a"))
    async with watch.Watch() as w:
        stream = w.stream(v1.list_namespaced_config_map, NS, resource_version=old_rv, timeout_seconds=30)
        assert (await take(stream, 1))[0]["type"] == "ADDED"
        kube.emulator.expire_watches()  # the open watch gets 410 Expired
        with pytest.raises(ApiException) as exc:
            await take(stream, 1)
    assert exc.value.status == 410
    async with watch.Watch() as w:  # and the old resource version stays too old
        with pytest.raises(ApiException) as exc:
            await take(w.stream(v1.list_namespaced_config_map, NS, resource_version=old_rv, timeout_seconds=30), 1)
    assert exc.value.status == 410


async def test_drop_watches_ends_streams(v1: Any, kube: KubeFixture) -> None:
    rv = (await v1.list_namespaced_config_map(NS)).metadata.resource_version
    async with watch.Watch() as w:
        stream = w.stream(v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=30)
        task = asyncio.create_task(drain(stream))
        await kube.emulator.wait_for_watches()
        kube.emulator.drop_watches()
        assert await task == []
    assert kube.emulator.watch_count() == 0

    async with watch.Watch() as w:  # abort=True cuts the connection mid-stream
        stream = w.stream(v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=30)
        task = asyncio.create_task(drain(stream))
        await kube.emulator.wait_for_watches()
        kube.emulator.drop_watches(abort=True)
        with pytest.raises(aiohttp.ClientError):
            await task


# --- scripted errors ------------------------------------------------------------------------------


async def test_forbid_and_allow(v1: Any, kube: KubeFixture) -> None:
    kube.emulator.forbid("create", "configmaps")
    with pytest.raises(ApiException) as exc:
        await v1.create_namespaced_config_map(NS, configmap("a"))
    body = status_of(exc)
    assert (exc.value.status, body["reason"]) == (403, "Forbidden")
    assert body["message"] == (
        'configmaps is forbidden: User "system:anonymous" cannot create resource "configmaps" '
        'in API group "" in the namespace "default"'
    )
    await v1.list_namespaced_config_map(NS)  # other verbs are unaffected
    kube.emulator.allow("create", "configmaps")
    await v1.create_namespaced_config_map(NS, configmap("a"))


async def test_fail_next_is_one_shot(v1: Any, kube: KubeFixture) -> None:
    kube.emulator.fail_next("list", "configmaps", 503)
    with pytest.raises(ApiException) as exc:
        await v1.list_namespaced_config_map(NS)
    assert (exc.value.status, status_of(exc)["reason"]) == (503, "ServiceUnavailable")
    await v1.list_namespaced_config_map(NS)


async def test_fail_next_with_retry_after(v1: Any, kube: KubeFixture) -> None:
    kube.emulator.fail_next("get", "configmaps", 429, retry_after=3, message="too many requests, please try again")
    with pytest.raises(ApiException) as exc:
        await v1.read_namespaced_config_map("a", NS)
    assert (exc.value.status, status_of(exc)["reason"]) == (429, "TooManyRequests")
    assert exc.value.headers is not None and exc.value.headers["Retry-After"] == "3"
    with pytest.raises(ApiException) as exc:  # one-shot: the next get is served (and finds nothing)
        await v1.read_namespaced_config_map("a", NS)
    assert exc.value.status == 404 and "Retry-After" not in (exc.value.headers or {})


async def test_drop_next_cuts_the_connection_without_acting(v1: Any, kube: KubeFixture) -> None:
    kube.emulator.drop_next("create", "configmaps")
    with pytest.raises(aiohttp.ClientConnectionError):
        await v1.create_namespaced_config_map(NS, configmap("a"))
    assert kube.get("configmaps", NS, "a") is None, "a dropped request is not carried out"
    await v1.create_namespaced_config_map(NS, configmap("a"))  # one-shot, and the client recovers
    assert kube.get("configmaps", NS, "a") is not None


async def test_kmock_slice_scripts_only_the_first_matching_request(v1: Any, kube: KubeFixture) -> None:
    kube.put(configmap("a", {"k": "v"}, namespace=NS))
    kube.emulator[f"get /api/v1/namespaces/{NS}/configmaps/a"][:1] << 503
    with pytest.raises(ApiException) as exc:
        await v1.read_namespaced_config_map("a", NS)
    assert exc.value.status == 503
    assert (await v1.read_namespaced_config_map("a", NS)).data == {"k": "v"}


async def test_kmock_reactions_override_the_emulator(api: Any, kube: KubeFixture) -> None:
    kube.emulator["get /healthz"] << b"scripted"
    assert await api.call_api("/healthz", "GET", response_types_map={200: "str"}, _return_http_data_only=True) == (
        "scripted"
    )


# --- lifecycle ------------------------------------------------------------------------------------


async def test_stop_and_start_on_the_same_port(v1: Any, kube: KubeFixture) -> None:
    await v1.create_namespaced_config_map(NS, configmap("kept"))
    url = kube.url
    await kube.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await v1.list_namespaced_config_map(NS)
    await kube.start()
    assert kube.url == url
    assert [cm.metadata.name for cm in (await v1.list_namespaced_config_map(NS)).items] == ["kept"]


async def test_fixture_environment_and_helpers(kube: KubeFixture) -> None:
    assert os.environ["KUBECONFIG"] == str(kube.kubeconfig)
    stored = kube.put(configmap("seed", {"k": "v"}, namespace="fresh"))
    assert kube.get("namespaces", None, "fresh") is not None  # put creates the namespace it needs
    assert kube.get("ConfigMap", "fresh", "seed") == stored
    assert [o["metadata"]["name"] for o in kube.objects("configmaps")] == ["seed"]
    assert kube.emulator.objects["v1/configmaps", "fresh", "seed"] >= {"data": {"k": "v"}}  # kmock's view works too
    async with kube.api_client() as api:
        assert (await client.CoreV1Api(api).read_namespaced_config_map("seed", "fresh")).data == {"k": "v"}
    assert kube.delete("configmaps", "fresh", "seed")
    assert kube.get("configmaps", "fresh", "seed") is None


# --- selectors and paging -------------------------------------------------------------------------


async def test_field_and_label_selectors(v1: Any, kube: KubeFixture) -> None:
    kube.put(configmap("a", namespace="default", labels={"app": "x"}))
    kube.put(configmap("b", namespace="default", labels={"app": "y"}))
    kube.put(configmap("a", namespace="other"))

    def names(items: Any) -> list[str]:
        return [f"{i.metadata.namespace}/{i.metadata.name}" for i in items.items]

    assert names(await v1.list_config_map_for_all_namespaces(field_selector="metadata.name=a")) == [
        "default/a",
        "other/a",
    ]
    assert names(await v1.list_config_map_for_all_namespaces(field_selector="metadata.namespace=other")) == ["other/a"]
    assert names(await v1.list_namespaced_config_map(NS, label_selector="app in (y,z)")) == ["default/b"]
    assert names(await v1.list_namespaced_config_map(NS, label_selector="app!=y")) == ["default/a"]
    with pytest.raises(ApiException) as exc:
        await v1.list_namespaced_config_map(NS, field_selector="data.k=v")
    assert exc.value.status == 400 and status_of(exc)["message"] == "field label not supported: data.k"


async def test_paging_with_limit_and_continue(v1: Any, kube: KubeFixture) -> None:
    for name in ("c", "a", "b"):
        kube.put(configmap(name))
    first = await v1.list_namespaced_config_map(NS, limit=2)
    assert [i.metadata.name for i in first.items] == ["a", "b"]
    assert first.metadata.remaining_item_count == 1
    second = await v1.list_namespaced_config_map(NS, limit=2, _continue=first.metadata._continue)
    assert [i.metadata.name for i in second.items] == ["c"] and not second.metadata._continue


# --- discovery and version ------------------------------------------------------------------------


async def test_discovery_with_and_without_trailing_slashes(api: Any) -> None:
    for path in ("/api", "/api/"):
        assert (await raw_get(api, path))["versions"] == ["v1"]
    for path in ("/apis", "/apis/"):
        names = {g["name"] for g in (await raw_get(api, path))["groups"]}
        assert {"batch", "rbac.authorization.k8s.io", "nvidia.com"} <= names
    core = await raw_get(api, "/api/v1/")
    served = {r["name"]: r for r in core["resources"]}
    assert {"configmaps", "namespaces", "nodes", "pods", "pods/log", "serviceaccounts"} <= set(served)
    assert served["configmaps"]["namespaced"] and not served["nodes"]["namespaced"]
    policies = await raw_get(api, "/apis/nvidia.com/v1/")
    assert {"name": "clusterpolicies", "kind": "ClusterPolicy", "namespaced": False}.items() <= policies["resources"][
        0
    ].items()
    assert (await raw_get(api, "/version/"))["gitVersion"]
    assert (await client.ApisApi(api).get_api_versions()).groups
    assert (await client.CoreApi(api).get_api_versions()).versions == ["v1"]


async def test_version_is_configurable(api: Any, kube: KubeFixture) -> None:
    kube.emulator.set_version("v1.32.4-eks-abcdef", platform="linux/arm64")
    info = await client.VersionApi(api).get_code()
    assert (info.git_version, info.major, info.minor, info.platform) == (
        "v1.32.4-eks-abcdef",
        "1",
        "32+",
        "linux/arm64",
    )


# --- the other resources the project uses ---------------------------------------------------------


async def test_rbac_batch_and_cluster_resources(api: Any, v1: Any, kube: KubeFixture) -> None:
    # Any: the client's annotations want model objects, while plain dicts are what it really accepts.
    rbac: Any = client.RbacAuthorizationV1Api(api)
    batch: Any = client.BatchV1Api(api)
    custom: Any = client.CustomObjectsApi(api)
    await v1.create_namespace({"metadata": {"name": "eidos"}})
    await v1.create_namespaced_service_account("eidos", {"metadata": {"name": "agent"}})
    await rbac.create_namespaced_role("eidos", {"metadata": {"name": "r"}, "rules": []})
    await rbac.create_namespaced_role_binding(
        "eidos",
        {
            "metadata": {"name": "rb"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "eidos"}],
        },
    )
    role = {"metadata": {"name": "system:eidos"}, "rules": []}
    created = await rbac.replace_cluster_role("system:eidos", role)  # RBAC creates on PUT, as kube does
    assert created.metadata.uid
    await rbac.create_cluster_role_binding(
        {
            "metadata": {"name": "crb"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:eidos"},
            "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "eidos"}],
        }
    )
    job = await batch.create_namespaced_job(
        "eidos", {"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": []}}}}
    )
    assert job.metadata.generation == 1
    await v1.create_node({"metadata": {"name": "n1"}, "status": {"capacity": {"nvidia.com/gpu": "8"}}})
    assert (await v1.list_node()).items[0].status.capacity == {"nvidia.com/gpu": "8"}

    policy = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}}
    await custom.create_cluster_custom_object("nvidia.com", "v1", "clusterpolicies", policy | {"spec": {"a": 1}})
    patched = await custom.patch_cluster_custom_object(
        "nvidia.com",
        "v1",
        "clusterpolicies",
        "cluster-policy",
        {"spec": {"b": 2}},
        _content_type="application/merge-patch+json",
    )
    assert patched["spec"] == {"a": 1, "b": 2} and patched["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as exc:  # the client's default patch type here is JSON patch: needs a list
        await custom.patch_cluster_custom_object("nvidia.com", "v1", "clusterpolicies", "cluster-policy", {})
    assert exc.value.status == 400
    assert kube.get("clusterpolicies", None, "cluster-policy") is not None


async def test_pod_status_subresource_and_log(v1: Any, kube: KubeFixture) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "X"}}
    created = await v1.create_namespaced_pod(NS, pod)
    assert created.status.phase == "Pending"  # status is the kubelet's, not the creator's
    await v1.patch_namespaced_pod_status("p", NS, {"status": {"phase": "Running"}})
    await v1.patch_namespaced_pod("p", NS, {"status": {"phase": "Ignored"}})
    running = await v1.list_namespaced_pod(NS, field_selector="status.phase=Running")
    assert [p.metadata.name for p in running.items] == ["p"]
    kube.emulator.pod_logs[NS, "p"] = "hello\n"
    assert await v1.read_namespaced_pod_log("p", NS) == "hello\n"


async def test_finalizers_delay_deletion(v1: Any) -> None:
    await v1.create_namespaced_config_map(NS, configmap("f", finalizers=["eidos/cleanup"]))
    await v1.delete_namespaced_config_map("f", NS)
    marked = await v1.read_namespaced_config_map("f", NS)
    assert marked.metadata.deletion_timestamp is not None
    await v1.patch_namespaced_config_map("f", NS, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as exc:
        await v1.read_namespaced_config_map("f", NS)
    assert exc.value.status == 404


async def test_deleting_a_namespace_deletes_its_contents(v1: Any, kube: KubeFixture) -> None:
    kube.put(configmap("inside", namespace="doomed"))
    await v1.delete_namespace("doomed")
    assert kube.get("configmaps", "doomed", "inside") is None


# --- custom resource definitions and namespaces, as kube-apiserver serves them --------------------

GROUP = "cert-manager.io"


def issuer_crd(*versions: dict[str, Any], scope: str = "Namespaced", name: str = f"issuers.{GROUP}") -> dict[str, Any]:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    default = {"name": "v1", "served": True, "storage": True, "schema": schema, "subresources": {"status": {}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": GROUP,
            "names": {"kind": "Issuer", "plural": "issuers", "shortNames": ["iss"]},
            "scope": scope,
            "versions": [{"schema": schema} | v for v in versions] or [default],
        },
    }


def issuer(name: str = "selfsigned") -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Issuer", "metadata": {"name": name}, "spec": {"selfSigned": {}}}


async def test_custom_resource_is_unknown_until_its_crd_exists(api: Any, kube: KubeFixture) -> None:
    custom: Any = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as exc:
        await custom.create_namespaced_custom_object(GROUP, "v1", NS, "issuers", issuer())
    # kube-apiserver's last handler: plain text, not a Status (what kubectl shows as "could not find")
    assert (exc.value.status, text_of(exc)) == (404, "404 page not found\n")
    assert GROUP not in {g["name"] for g in (await raw_get(api, "/apis"))["groups"]}
    for path in (f"/apis/{GROUP}", f"/apis/{GROUP}/v1"):
        with pytest.raises(ApiException) as exc:
            await raw_get(api, path)
        assert exc.value.status == 404

    extensions: Any = client.ApiextensionsV1Api(api)
    created = await extensions.create_custom_resource_definition(issuer_crd())
    established = {c.type: c.status for c in created.status.conditions}
    assert established == {"NamesAccepted": "True", "Established": "True"}
    assert created.status.accepted_names.list_kind == "IssuerList" and created.status.stored_versions == ["v1"]
    group = await raw_get(api, f"/apis/{GROUP}")
    assert group["preferredVersion"]["version"] == "v1"
    served = {r["name"]: r for r in (await raw_get(api, f"/apis/{GROUP}/v1"))["resources"]}
    assert set(served) == {"issuers", "issuers/status"} and served["issuers"]["namespaced"] is True
    assert served["issuers"]["shortNames"] == ["iss"]

    made = await custom.create_namespaced_custom_object(GROUP, "v1", NS, "issuers", issuer())
    assert made["metadata"]["generation"] == 1 and "status" not in made
    listed = await custom.list_cluster_custom_object(GROUP, "v1", "issuers")  # all namespaces
    assert [i["metadata"]["name"] for i in listed["items"]] == ["selfsigned"] and listed["kind"] == "IssuerList"
    with pytest.raises(ApiException) as exc:  # a namespaced kind has no cluster-scoped object path
        await custom.create_cluster_custom_object(GROUP, "v1", "issuers", issuer("x"))
    assert exc.value.status == 404

    await extensions.delete_custom_resource_definition(f"issuers.{GROUP}")
    with pytest.raises(LookupError):  # not served any more, not even to the test helpers
        kube.get("issuers", NS, "selfsigned")
    with pytest.raises(ApiException) as exc:  # the kind is gone again, and so are its objects
        await custom.get_namespaced_custom_object(GROUP, "v1", NS, "issuers", "selfsigned")
    assert (exc.value.status, text_of(exc)) == (404, "404 page not found\n")
    assert GROUP not in {g["name"] for g in (await raw_get(api, "/apis"))["groups"]}
    await extensions.create_custom_resource_definition(issuer_crd())  # a new CRD starts empty: the objects died
    assert (await custom.list_namespaced_custom_object(GROUP, "v1", NS, "issuers"))["items"] == []


async def test_crd_by_server_side_apply_with_versions_and_scope(api: Any) -> None:
    crd = issuer_crd(
        {"name": "v1alpha1", "served": False, "storage": False},
        {"name": "v1beta1", "served": True, "storage": False},
        {"name": "v1", "served": True, "storage": True},
        scope="Cluster",
    )
    applied = await api.call_api(
        f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/issuers.{GROUP}",
        "PATCH",
        query_params=[("fieldManager", "test")],
        header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
        body=crd,
        response_types_map={200: "object", 201: "object"},
        _return_http_data_only=True,
    )
    assert applied["status"]["storedVersions"] == ["v1"]
    group = await raw_get(api, f"/apis/{GROUP}")
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]  # by kube's version priority
    custom: Any = client.CustomObjectsApi(api)
    await custom.create_cluster_custom_object(
        GROUP, "v1beta1", "issuers", issuer() | {"apiVersion": f"{GROUP}/v1beta1"}
    )
    for version in ("v1alpha1", "v2"):  # not served, not defined
        with pytest.raises(ApiException) as exc:
            await custom.list_cluster_custom_object(GROUP, version, "issuers")
        assert exc.value.status == 404
    with pytest.raises(ApiException) as exc:  # cluster-scoped: no namespaced path
        await custom.create_namespaced_custom_object(GROUP, "v1", NS, "issuers", issuer())
    assert exc.value.status == 404


async def test_invalid_crds_are_refused(api: Any) -> None:
    extensions: Any = client.ApiextensionsV1Api(api)
    no_schema = issuer_crd()
    del no_schema["spec"]["versions"][0]["schema"]
    two_storage = issuer_crd({"name": "v1", "storage": True, "served": True}, {"name": "v2", "storage": True})
    cases = {
        "metadata.name": issuer_crd(name="issuer.cert-manager.io"),
        "spec.versions[0].schema.openAPIV3Schema": no_schema,
        "spec.versions": two_storage,
        "spec.scope": issuer_crd(scope="Global"),
    }
    for field, crd in cases.items():
        with pytest.raises(ApiException) as exc:
            await extensions.create_custom_resource_definition(crd)
        body = status_of(exc)
        assert (exc.value.status, body["reason"]) == (422, "Invalid")
        assert field in [c["field"] for c in body["details"]["causes"]], body
        assert body["message"].startswith('CustomResourceDefinition.apiextensions.k8s.io "')
    await extensions.create_custom_resource_definition(issuer_crd())
    with pytest.raises(ApiException) as exc:
        await extensions.patch_custom_resource_definition(f"issuers.{GROUP}", {"spec": {"scope": "Cluster"}})
    assert exc.value.status == 422 and "field is immutable" in status_of(exc)["message"]


async def test_objects_in_a_missing_namespace_are_refused(api: Any, v1: Any) -> None:
    names = {n.metadata.name for n in (await v1.list_namespace()).items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    extensions: Any = client.ApiextensionsV1Api(api)  # Any: plain dicts are what the client really accepts
    rbac: Any = client.RbacAuthorizationV1Api(api)
    await extensions.create_custom_resource_definition(issuer_crd())
    attempts = {
        "create": v1.create_namespaced_secret("nowhere", {"metadata": {"name": "s"}}),
        "server-side apply": api.call_api(
            "/api/v1/namespaces/nowhere/configmaps/c",
            "PATCH",
            query_params=[("fieldManager", "test")],
            header_params={"Content-Type": "application/apply-patch+yaml"},
            body=configmap("c"),
        ),
        "custom resource": client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, "v1", "nowhere", "issuers", issuer()
        ),
        "rbac PUT-create": rbac.replace_namespaced_role("r", "nowhere", {"metadata": {"name": "r"}, "rules": []}),
    }
    for what, call in attempts.items():
        with pytest.raises(ApiException) as exc:
            await call
        body = status_of(exc)
        assert (exc.value.status, body["reason"], body["message"]) == (
            404,
            "NotFound",
            'namespaces "nowhere" not found',
        )
        assert body["details"] == {"name": "nowhere", "kind": "namespaces"}, what
    await v1.create_namespace({"metadata": {"name": "nowhere"}})  # a Namespace needs none
    assert (await v1.create_namespaced_secret("nowhere", {"metadata": {"name": "s"}})).metadata.namespace == "nowhere"


async def test_builtin_catalogue_and_secret_string_data(api: Any, v1: Any) -> None:
    apps: Any = client.AppsV1Api(api)
    deployment = {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {}}}
    assert (await apps.create_namespaced_deployment(NS, deployment)).metadata.generation == 1
    groups = {g["name"] for g in (await raw_get(api, "/apis"))["groups"]}
    expected = {"apps", "policy", "admissionregistration.k8s.io", "apiextensions.k8s.io", "resource.k8s.io"}
    assert expected <= groups
    secret = await v1.create_namespaced_secret(NS, {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert secret.data == {"k": base64.b64encode(b"v").decode()} and secret.string_data is None


async def test_bare_cluster_has_no_custom_resources(tmp_path: Any) -> None:
    from tests.kube.emulator import serve_kube

    async with serve_kube(tmp_path, preinstalled_crds=()) as bare, bare.api_client() as api:
        assert "nvidia.com" not in {g["name"] for g in (await raw_get(api, "/apis"))["groups"]}
        crds = await client.ApiextensionsV1Api(api).list_custom_resource_definition()
        assert crds.items == []
