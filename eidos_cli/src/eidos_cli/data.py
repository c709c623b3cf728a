"""Which recipe data a command uses: the embedded data, or ``--data DIR|cm://ns/name`` layered
over it (external files replace embedded ones; registries merge by component name)."""

from __future__ import annotations

import asyncio
import logging

from eidos_core.data.files import read_directory, read_embedded
from eidos_core.data.layered import layer_files
from eidos_core.data.load import load_store
from eidos_core.io.uri import Scheme, parse_uri
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.embedded import embedded_store

log = logging.getLogger("eidos_cli.data")


async def _external_files(spec: str, kubeconfig: str | None) -> dict[str, bytes]:
    loc = parse_uri(spec)
    if loc.scheme is Scheme.CONFIGMAP:
        from eidos_core.sources.configmap import read_configmap_files

        return await read_configmap_files(loc.namespace, loc.name, kubeconfig=kubeconfig)
    return await asyncio.to_thread(read_directory, spec)


async def recipe_store(spec: str | None, *, kubeconfig: str | None = None) -> RecipeStore:
    """The store for ``--data spec`` (``None``: embedded only), fully validated."""
    if not spec:
        return embedded_store()
    external = await _external_files(spec, kubeconfig)
    files = layer_files(read_embedded(), external, origin=spec)
    store = await asyncio.to_thread(load_store, files, source=f"embedded+{spec}")
    log.info(
        "layered recipe data loaded",
        extra={"external_files": len(external), "components": len(store.registry.components)},
    )
    return store
