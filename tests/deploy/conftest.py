"""One eidosd, started as its pod would start it (tests/deploy/pod.py), shared by the tests that
only read from it; tests that stop or reconfigure eidosd start their own."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.deploy.pod import PodProcess, start_pod
from tests.deploy.support import K8S, find, render


@pytest.fixture(scope="session")
def eidosd_pod() -> Iterator[PodProcess]:
    pod = start_pod(find(render(K8S / "base"), "Deployment", "eidosd"))
    try:
        yield pod
    finally:
        pod.stop(signal.SIGKILL)
        pod.cleanup()
