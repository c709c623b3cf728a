"""A recipe data directory (``RECIPE_DATA_PATH``), followed by polling.

Works on a mounted ConfigMap volume: the kubelet swaps a ``..data`` symlink atomically, which
changes the resolved inode/mtime of every visible file; polling sees that within one interval.
Only data that validates replaces the current store.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from eidos_core.data.files import fingerprint, read_directory
from eidos_core.data.load import load_store
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.base import ReloadEvent
from eidos_core.sources.errors import reload_error

DEFAULT_POLL_SECONDS = 0.5


def load_directory(path: str | os.PathLike[str]) -> RecipeStore:
    """Read and validate a data directory (synchronous; for the CLI and for threads)."""
    return load_store(read_directory(path), source=f"directory:{path}")


class DirectorySource:
    def __init__(self, path: str | os.PathLike[str], *, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        self.path = Path(path)
        self.poll_seconds = poll_seconds
        self._version = ""
        self._seen: tuple[tuple[str, int, int, int], ...] = ()

    @property
    def description(self) -> str:
        return f"directory:{self.path}"

    async def load(self) -> RecipeStore:
        # Fingerprint first: a change that lands while we read is caught by the next poll.
        self._seen = await asyncio.to_thread(fingerprint, self.path)
        store = await asyncio.to_thread(load_directory, self.path)
        self._version = store.version
        return store

    async def updates(self) -> AsyncIterator[ReloadEvent]:
        while True:
            await asyncio.sleep(self.poll_seconds)
            event = await self._poll()
            if event is not None:
                yield event

    async def _poll(self) -> ReloadEvent | None:
        """One round: the new store, why the new data were refused, or None (no change).

        Every exception is an event, whatever its type (an integer past Python's digit limit
        raises ValueError): the stream must outlive any data set.
        """
        try:
            current = await asyncio.to_thread(fingerprint, self.path)
            if current == self._seen:
                return None
            self._seen = current
            store = await asyncio.to_thread(load_directory, self.path)
        except OSError as exc:  # a file vanished mid-read: try again next round
            self._seen = ()
            return reload_error(str(self.path), exc)
        except Exception as exc:
            return reload_error(str(self.path), exc)
        if store.version == self._version:
            return None
        self._version = store.version
        return store
