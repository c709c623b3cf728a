"""pytest fixtures for the Kubernetes API emulator (register with ``pytest_plugins = ["tests.kube.plugin"]``)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.kube.emulator import KubeFixture, serve_kube


@pytest_asyncio.fixture
async def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[KubeFixture]:
    """A fresh emulated kube-apiserver on 127.0.0.1, with ``KUBECONFIG`` pointing at it for this test.

    Yields a :class:`KubeFixture`: ``.emulator``, ``.url``, ``.kubeconfig``, ``put``/``get``/``delete``/
    ``objects`` for direct state access, ``stop()``/``start()`` to take the API server down and back up
    on the same port, and ``api_client()`` for a ready kubernetes_asyncio ApiClient.
    """
    directory = tmp_path / "kube"
    directory.mkdir()
    async with serve_kube(directory) as cluster:
        monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # never fall back to a real in-cluster API
        # kubernetes_asyncio's aiohttp session trusts proxy variables; keep loopback traffic direct.
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(var, ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"])))
        yield cluster
        # A 500 from the emulator itself is a fixture bug, not something a test should pass with.
        if bugs := cluster.emulator.internal_errors:
            pytest.fail(f"the Kubernetes emulator failed internally: {bugs!r}")
