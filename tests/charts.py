"""Shared fixtures for tests that use the real helm and the real upstream chart packages.

``helm`` installs the real helm binary once (../shared/tools/install-helm) into a stable cache;
``chart_repo`` serves ../shared/upstream-charts on 127.0.0.1 as a chart repository. Both skip
cleanly when ../shared is absent. They are registered for every test by tests/conftest.py.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from tests.helmbin import install_helm

UPSTREAM_CHARTS = SHARED / "upstream-charts"


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real helm binary (v4), installed once into a stable cache (or a temp dir)."""
    path = install_helm(tmp_path_factory.mktemp("helm"))
    version = subprocess.run([path, "version", "--short"], capture_output=True, text=True, timeout=60)
    assert "v4." in version.stdout, version
    return path


@pytest.fixture(scope="session")
def upstream_charts() -> Path:
    if not (UPSTREAM_CHARTS / "index.yaml").is_file():
        pytest.skip("../shared/upstream-charts is not present")
    return UPSTREAM_CHARTS


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def chart_repo(upstream_charts: Path) -> Iterator[str]:
    """``http://127.0.0.1:PORT/``: ../shared/upstream-charts as a chart repository (relative URLs)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=upstream_charts))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join(timeout=10)
