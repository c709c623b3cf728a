"""Shared fixtures for tests that use the real helm and the real upstream chart packages.

``helm`` installs the real helm binary once (../shared/tools/install-helm) into a stable cache;
``chart_repo`` serves ../shared/upstream-charts on 127.0.0.1 as a chart repository. Both skip
cleanly when ../shared is absent. Import the fixtures into a test module (or a conftest) with
``from tests.charts import chart_repo, helm  # noqa: F401``.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED

INSTALL_HELM = SHARED / "tools" / "install-helm"
UPSTREAM_CHARTS = SHARED / "upstream-charts"
HELM_CACHE = Path(os.environ.get("EIDOS_TEST_HELM_DIR", Path.home() / ".cache" / "eidos-test-helm"))


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real helm binary, installed once into a stable cache (or a temp dir if that is read-only)."""
    if not INSTALL_HELM.is_file():
        pytest.skip("../shared/tools/install-helm is not present")
    try:
        HELM_CACHE.mkdir(parents=True, exist_ok=True)
        dest = HELM_CACHE if os.access(HELM_CACHE, os.W_OK) else tmp_path_factory.mktemp("helm")
    except OSError:
        dest = tmp_path_factory.mktemp("helm")
    proc = subprocess.run([INSTALL_HELM, dest], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"install-helm failed:\n{proc.stdout}\n{proc.stderr}"
    path = Path(proc.stdout.strip().splitlines()[-1])
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
