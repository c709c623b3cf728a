"""cm:// reads and writes through the real kubernetes_asyncio client against the emulated API server."""

from __future__ import annotations

from typing import Any

import pytest

from eidos_core import __version__, yaml
from eidos_core.errors import ForbiddenError, InvalidRequestError, NotFoundError, UnavailableError
from eidos_core.io.documents import read_document, write_document
from tests.kube.emulator import KubeFixture

NS = "gpu-operator"
SNAPSHOT = {"kind": "Snapshot", "apiVersion": "eidos.nvidia.com/v1alpha1", "measurements": [{"type": "GPU"}]}


def namespace(kube: KubeFixture, name: str = NS) -> None:
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def configmap(kube: KubeFixture, name: str) -> dict[str, Any]:
    obj = kube.get("configmaps", NS, name)
    assert obj is not None, f"ConfigMap {NS}/{name} was not written"
    return obj


async def test_write_creates_a_labelled_configmap_that_reads_back(kube: KubeFixture) -> None:
    namespace(kube)
    where = await write_document(f"cm://{NS}/eidos-snapshot", SNAPSHOT, component="snapshot")
    assert str(where) == f"cm://{NS}/eidos-snapshot"

    obj = configmap(kube, "eidos-snapshot")
    assert obj["metadata"]["labels"] == {
        "app.kubernetes.io/name": "eidos",
        "app.kubernetes.io/component": "snapshot",
        "app.kubernetes.io/version": __version__,
    }
    assert set(obj["data"]) == {"snapshot.yaml", "format", "timestamp"}
    assert obj["data"]["format"] == "yaml"
    assert yaml.load(obj["data"]["snapshot.yaml"].encode()) == SNAPSHOT
    assert await read_document(f"cm://{NS}/eidos-snapshot") == SNAPSHOT


async def test_update_replaces_our_document_and_keeps_other_keys(kube: KubeFixture) -> None:
    namespace(kube)
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": NS, "labels": {"team": "gpu"}},
            "data": {"notes.txt": "keep me", "snapshot.yaml": "old: true\n"},
        }
    )
    await write_document(f"cm://{NS}/shared", SNAPSHOT, component="snapshot", fmt="json")

    obj = configmap(kube, "shared")
    assert obj["data"]["notes.txt"] == "keep me"
    assert "snapshot.yaml" not in obj["data"], "the previous format's document must not linger"
    assert obj["data"]["format"] == "json"
    assert obj["metadata"]["labels"]["team"] == "gpu"
    assert obj["metadata"]["labels"]["app.kubernetes.io/component"] == "snapshot"
    assert await read_document(f"cm://{NS}/shared/snapshot.json") == SNAPSHOT


@pytest.mark.parametrize("verb", ["create", "update"])
async def test_a_conflict_is_retried(kube: KubeFixture, verb: str) -> None:
    namespace(kube)
    if verb == "update":
        await write_document(f"cm://{NS}/snap", {"first": 1}, component="snapshot")
    kube.emulator.fail_next(verb, "configmaps", 409, reason="Conflict", message="the object has been modified")
    await write_document(f"cm://{NS}/snap", SNAPSHOT, component="snapshot")
    assert yaml.load(configmap(kube, "snap")["data"]["snapshot.yaml"].encode()) == SNAPSHOT


async def test_over_one_mebibyte_is_refused_before_calling_the_api(kube: KubeFixture) -> None:
    namespace(kube)
    kube.emulator.forbid("*", "configmaps")  # any API call would now fail with "forbidden", not "too large"
    big = {"blob": "x" * (1024 * 1024)}
    with pytest.raises(InvalidRequestError, match="1 MiB") as info:
        await write_document(f"cm://{NS}/big", big, component="snapshot")
    assert info.value.details["limit"] == 1024 * 1024
    kube.emulator.allow()
    assert kube.get("configmaps", NS, "big") is None


async def test_forbidden_names_the_verb_and_resource_to_grant(kube: KubeFixture) -> None:
    namespace(kube)
    kube.emulator.forbid("create", "configmaps", NS)
    with pytest.raises(ForbiddenError) as info:
        await write_document(f"cm://{NS}/snap", SNAPSHOT, component="snapshot")
    assert "'create'" in info.value.message and "'configmaps'" in info.value.message
    assert info.value.details == {"verb": "create", "resource": "configmaps", "namespace": NS}
    assert kube.get("configmaps", NS, "snap") is None


async def test_reading_a_missing_configmap_or_key_is_not_found(kube: KubeFixture) -> None:
    namespace(kube)
    with pytest.raises(NotFoundError, match=f"{NS}/absent"):
        await read_document(f"cm://{NS}/absent")
    await write_document(f"cm://{NS}/snap", SNAPSHOT, component="snapshot")
    with pytest.raises(NotFoundError, match=r"no recipe.yaml key \(keys: format, snapshot.yaml, timestamp\)"):
        await read_document(f"cm://{NS}/snap/recipe.yaml")


async def test_missing_namespace_is_reported(kube: KubeFixture) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        await write_document("cm://nowhere/snap", SNAPSHOT, component="snapshot")


async def test_an_unreachable_api_is_unavailable(kube: KubeFixture) -> None:
    await kube.stop()
    with pytest.raises(UnavailableError, match="unreachable"):
        await write_document(f"cm://{NS}/snap", SNAPSHOT, component="snapshot")


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_transient_failure_is_retried(kube: KubeFixture, status: int) -> None:
    from eidos_core.kube.retry import RetryPolicy, use_policy

    namespace(kube)
    await write_document(f"cm://{NS}/snap", {"first": 1}, component="snapshot")
    kube.emulator.fail_next("update", "configmaps", status, retry_after=0 if status == 429 else None)
    with use_policy(RetryPolicy(deadline=10, base_delay=0.05)):
        await write_document(f"cm://{NS}/snap", SNAPSHOT, component="snapshot")
    assert yaml.load(configmap(kube, "snap")["data"]["snapshot.yaml"].encode()) == SNAPSHOT


async def test_without_retries_a_transient_failure_is_unavailable(kube: KubeFixture) -> None:
    from eidos_core.kube.retry import NO_RETRY, use_policy

    namespace(kube)
    kube.emulator.fail_next("create", "configmaps", 503)
    with use_policy(NO_RETRY), pytest.raises(UnavailableError, match="Kubernetes API error 503 on create"):
        await write_document(f"cm://{NS}/snap", SNAPSHOT, component="snapshot")
