"""The directory source follows changes (plain files and the kubelet's ..data swap) and keeps
the last good store when an update is invalid."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eidos_core import yaml
from eidos_core.data.files import flatten
from eidos_core.errors import EidosError, RecipeDataError
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.base import RecipeSource, ReloadEvent
from eidos_core.sources.directory import DirectorySource
from eidos_core.sources.embedded import EmbeddedSource
from tests.conftest import metadata_doc, mini_files


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


async def next_event(updates: AsyncIterator[ReloadEvent]) -> ReloadEvent:
    """The next reload event; the design budget for noticing a change is 2 s."""
    async with asyncio.timeout(2.0):
        return await updates.__anext__()


def overlay(name: str, version: str) -> bytes:
    spec = {"criteria": {"service": "eks"}, "componentRefs": [{"name": "a", "version": version}]}
    return yaml.dump(metadata_doc(name, spec)).encode()


async def test_sources_satisfy_the_protocol(tmp_path: Path) -> None:
    assert isinstance(EmbeddedSource(), RecipeSource)
    assert isinstance(DirectorySource(tmp_path), RecipeSource)
    store = await EmbeddedSource().load()
    assert store.source == "embedded"


async def test_change_is_seen_within_two_seconds_and_bad_update_is_rejected(tmp_path: Path) -> None:
    write_tree(tmp_path, mini_files())
    source = DirectorySource(tmp_path, poll_seconds=0.1)
    first = await source.load()
    updates = source.updates()
    try:
        await asyncio.sleep(0.15)
        started = time.monotonic()
        (tmp_path / "overlays" / "eks.yaml").write_bytes(overlay("eks", "9.9.9"))
        event = await next_event(updates)
        assert isinstance(event, RecipeStore)
        assert time.monotonic() - started < 2.0
        assert event.version != first.version and "eks" in event.overlays

        (tmp_path / "overlays" / "eks.yaml").write_bytes(b"kind: recipeMetadata\nspec: [\n")
        event = await next_event(updates)
        assert isinstance(event, RecipeDataError)
        assert "overlays/eks.yaml" in str(event)
    finally:
        await updates.aclose()  # type: ignore[attr-defined]


async def test_configmap_volume_swap(tmp_path: Path) -> None:
    def publish(stamp: str, files: dict[str, bytes]) -> None:
        real = tmp_path / stamp
        real.mkdir()
        for rel, data in files.items():
            (real / flatten(rel)).write_bytes(data)
        tmp_link = tmp_path / "..data_tmp"
        tmp_link.symlink_to(stamp)
        os.replace(tmp_link, tmp_path / "..data")  # the kubelet's atomic swap
        for entry in real.iterdir():
            visible = tmp_path / entry.name
            if not visible.is_symlink():
                visible.symlink_to(Path("..data") / entry.name)

    files = mini_files()
    publish("..2026_01", files)
    source = DirectorySource(tmp_path, poll_seconds=0.1)
    first = await source.load()
    assert "eks" not in first.overlays
    updates = source.updates()
    try:
        await asyncio.sleep(0.15)
        publish("..2026_02", {**files, "overlays/eks.yaml": overlay("eks", "2.0.0")})
        shutil.rmtree(tmp_path / "..2026_01")
        event = await next_event(updates)
        assert isinstance(event, RecipeStore)
        assert event.overlays["eks"].component_refs[0].version == "2.0.0"
    finally:
        await updates.aclose()  # type: ignore[attr-defined]


async def test_load_of_bad_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(EidosError):
        await DirectorySource(tmp_path / "missing").load()
