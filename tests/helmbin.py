"""The real ``helm`` binary for tests: installed once by ``../shared/tools/install-helm`` into a cache.

The cache is ``EIDOS_TEST_HELM_DIR`` (default ``~/.cache/eidos-test-helm``), so the binary is fetched
once per machine. Tests take it as the ``helm`` fixture (tests/charts.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SHARED

INSTALL_HELM = SHARED / "tools" / "install-helm"
HELM_CACHE = Path(os.environ.get("EIDOS_TEST_HELM_DIR", Path.home() / ".cache" / "eidos-test-helm"))


def install_helm(fallback: Path) -> Path:
    """The helm binary's path; skips the test when ../shared has no installer (no helm to be had)."""
    if not INSTALL_HELM.is_file():
        pytest.skip("../shared/tools/install-helm is not present")
    try:
        HELM_CACHE.mkdir(parents=True, exist_ok=True)
        dest = HELM_CACHE if os.access(HELM_CACHE, os.W_OK) else fallback
    except OSError:
        dest = fallback
    proc = subprocess.run([INSTALL_HELM, dest], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"install-helm failed:\n{proc.stdout}\n{proc.stderr}"
    return Path(proc.stdout.strip().splitlines()[-1])
