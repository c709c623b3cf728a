"""The recipe-configmap-watch Role grants exactly what eidosd's ConfigMap watcher uses.

The watcher (eidos_core.sources.configmap.ConfigMapSource) runs against the API emulator through
a load, an update, a 410 relist and a dropped stream; every request it makes is recorded and
authorized the way kube-apiserver's RBAC authorizer would against the rendered Role (for list
and watch the object name comes from a ``metadata.name`` field selector). Every request must be
allowed, and every verb the Role grants must have been used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.configmap import ConfigMapSource
from eidosd.settings import load_settings
from tests.conftest import mini_files
from tests.deploy.support import Obj, container, env_of, find, render_with_components
from tests.kube.emulator import KubeFixture
from tests.support import Follower, as_configmap, b_version, eks_overlay, wait_until_async

# Non-resource URLs every authenticated client may read (kube's default system:discovery and
# system:public-info-viewer ClusterRoles); the emulator fixture checks /version itself.
PUBLIC_PATHS = {"/version", "/api", "/apis", "/healthz", "/livez", "/readyz"}


@dataclass(frozen=True)
class Access:
    verb: str
    group: str
    resource: str
    namespace: str | None
    name: str | None


def access_of(method: str, path: str, params: Mapping[str, str]) -> Access:
    """What kube-apiserver's request-info resolver makes of a request (core group only)."""
    parts = [p for p in path.split("/") if p]
    assert parts[:2] == ["api", "v1"], f"unexpected API path {path}"
    rest = parts[2:]
    namespace = None
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource, name = rest[0], (rest[1] if len(rest) > 1 else None)
    watching = params.get("watch", "").lower() in ("true", "1")
    if method == "GET" and name is None:
        verb = "watch" if watching else "list"
        selector = params.get("fieldSelector", "")
        for term in selector.split(","):
            key, _, value = term.partition("=")
            if key.strip() == "metadata.name" and value:
                name = value.lstrip("=")  # "==" is allowed too
    elif method == "GET":
        verb = "watch" if watching else "get"
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
    return Access(verb, "", resource, namespace, name)


def allowed(rules: Sequence[Mapping[str, Any]], access: Access) -> bool:
    for rule in rules:
        if (
            access.group in rule["apiGroups"]
            and access.resource in rule["resources"]
            and access.verb in rule["verbs"]
            and (not rule.get("resourceNames") or access.name in rule["resourceNames"])
        ):
            return True
    return False


def configmap(namespace: str, name: str, version: str) -> dict[str, Any]:
    return as_configmap(mini_files(eks=eks_overlay(version)), namespace, name)


def test_authorizer_follows_rbac_rules() -> None:
    rules = [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["x"], "verbs": ["get", "watch"]}]
    watch_x = access_of("GET", "/api/v1/namespaces/n/configmaps", {"watch": "true", "fieldSelector": "metadata.name=x"})
    assert allowed(rules, watch_x)
    assert not allowed(rules, access_of("GET", "/api/v1/namespaces/n/configmaps", {"watch": "true"}))
    assert not allowed(rules, access_of("GET", "/api/v1/namespaces/n/configmaps/y", {}))
    assert not allowed(rules, access_of("GET", "/api/v1/namespaces/n/configmaps", {"fieldSelector": "metadata.name=x"}))


async def test_role_grants_exactly_what_the_watcher_uses(kube: KubeFixture, tmp_path: Path) -> None:
    objs: list[Obj] = render_with_components(tmp_path / "overlay", ["recipe-configmap-watch"])
    role = find(objs, "Role")
    settings = load_settings(env_of(container(find(objs, "Deployment", "eidosd"), "eidosd")))
    namespace, name = settings.recipe_configmap.split("/")
    assert role["metadata"]["namespace"] == namespace

    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube.put(configmap(namespace, name, "1.0.0"))
    source = ConfigMapSource(namespace, name, backoff_first=0.05, backoff_max=0.2)
    await source.load()

    async def next_version() -> str:
        event = await follower.next()
        assert isinstance(event, RecipeStore), event
        return b_version(event)

    def watches() -> int:
        return sum(1 for r in kube.emulator if r.params.get("watch"))

    async def rewatched(before: int) -> None:
        """Until the watcher has opened a new watch (the emulator records requests but signals none)."""

        async def opened() -> bool:
            return watches() > before and kube.emulator.watch_count() > 0

        await wait_until_async(opened, "a new watch", 5)

    follower = Follower(source)
    try:
        await kube.emulator.wait_for_watches(1, "configmaps")
        kube.put(configmap(namespace, name, "1.1.0"))
        assert await next_version() == "1.1.0"
        # history expired: 410, then a fresh get and a new watch
        before = watches()
        kube.emulator.expire_watches("configmaps")
        await rewatched(before)
        kube.put(configmap(namespace, name, "1.2.0"))
        assert await next_version() == "1.2.0"
        # a stream that ends (watch timeout): resumed from the last resource version
        before = watches()
        kube.emulator.drop_watches("configmaps")
        await rewatched(before)
        kube.put(configmap(namespace, name, "1.3.0"))
        assert await next_version() == "1.3.0"
    finally:
        await follower.stop()

    accesses = [
        access_of(str(r.method).upper().removeprefix("METHOD."), r.url.path, r.params)
        for r in kube.emulator
        if r.url.path.rstrip("/") not in PUBLIC_PATHS
    ]
    refused = [a for a in accesses if not allowed(role["rules"], a)]
    assert refused == [], f"the Role does not allow what the watcher does: {refused}"
    used = {a.verb for a in accesses}
    granted = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert used == granted, f"granted but never used: {granted - used}; used: {used}"
    assert sum(a.verb == "get" for a in accesses) >= 2  # the first load and the relist after 410
