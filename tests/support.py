"""Helpers for tests that run eidosd as a process or wait for something to happen.

* :func:`free_port`: a TCP port on 127.0.0.1 that nothing listens on now; :func:`port_refuses`:
  whether nothing listens on one.
* :func:`wait_until` / :func:`wait_until_async`: poll a check until it holds, with a deadline
  (never a fixed sleep standing in for a wait); :class:`GaveUp` when the deadline passes.
* :func:`request`, :func:`read_response`, :func:`metric_value`: HTTP with the standard library,
  a response read off a raw socket, a sample from a Prometheus exposition.
* :class:`EidosdProcess`: an eidosd process on 127.0.0.1 whose stderr (its log) goes to a file:
  wait for /ready, drive it over HTTP, read its metrics and log, stop it.
* :func:`launch_eidosd` / :func:`start_eidosd`: the ``eidosd`` console script on a free port with
  this environment plus the given settings; started, or started and ready. The ``run_eidosd``
  fixture (registered by tests/conftest.py) does the latter and kills what is left afterwards.
* ``make_client`` fixture: eidosd's application in this process behind pytest-aiohttp's test
  server on a real socket, returned once its first recipe data has loaded.
* ``gpu_cluster`` fixture: the emulated API server with one EKS H100 node, for snapshot tests.
* Recipe data in a ConfigMap (``NS/NAME``) of the emulated API server: :func:`as_configmap`,
  :func:`publish`, :func:`b_version`, and :class:`Follower` for a source's update stream.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import mini_files

if TYPE_CHECKING:
    from eidos_core.recipe.model import RecipeStore
    from eidos_core.sources.base import RecipeSource, ReloadEvent
    from tests.kube.emulator import KubeFixture

T = TypeVar("T")
Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


# The console script next to the running interpreter (the venv need not be on PATH).
def console_script(name: str) -> str | None:
    """A console script of this environment (beside the interpreter), else one on PATH."""
    return shutil.which(name, path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))


EIDOSD = console_script("eidosd")
EIDOS_CLI = console_script("eidos-cli")
# Settings for tests that send many requests and are not about rate limiting.
NO_RATE_LIMIT = {"RATE_LIMIT": "100000", "RATE_BURST": "100000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- waiting ---------------------------------------------------------------------------------------


def port_refuses(port: int) -> bool:
    """Nothing listens on 127.0.0.1:``port`` (a connection is refused)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


class GaveUp(AssertionError):
    """A wait's deadline passed before its check held."""


def wait_until(
    check: Callable[[], T],
    what: str,
    within: float = 10.0,
    *,
    every: float = 0.05,
    ignoring: type[BaseException] | tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``check`` every ``every`` seconds until it returns something true, and return that.

    An exception of an ``ignoring`` type counts as "not yet" (the last one is chained to the
    failure); any other exception, an AssertionError included, ends the wait at once. After
    ``within`` seconds: :class:`GaveUp`, saying ``what`` did not happen.
    """
    deadline = time.monotonic() + within
    last: BaseException | None = None
    while True:
        try:
            result = check()
        except ignoring as exc:
            last = exc
        else:
            if result:
                return result
        if time.monotonic() >= deadline:
            raise GaveUp(f"{what} did not happen within {within}s") from last
        time.sleep(every)


async def wait_until_async(
    check: Callable[[], Awaitable[T]],
    what: str,
    within: float = 10.0,
    *,
    every: float = 0.02,
    ignoring: type[BaseException] | tuple[type[BaseException], ...] = (),
) -> T:
    """:func:`wait_until` for a coroutine check; the event loop runs while it waits, and a check
    still running at the deadline is cancelled."""
    deadline = asyncio.timeout(within)
    last: BaseException | None = None
    try:
        async with deadline:
            while True:
                try:
                    result = await check()
                except ignoring as exc:
                    last = exc
                else:
                    if result:
                        return result
                await asyncio.sleep(every)
    except TimeoutError:
        if not deadline.expired():
            raise  # the check's own
        raise GaveUp(f"{what} did not happen within {within}s") from last


# --- HTTP and metrics ------------------------------------------------------------------------------


def request(
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with the standard library: (status, headers, body), error statuses included."""
    req = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def read_response(sock: socket.socket) -> bytes:
    """One HTTP/1.1 response from ``sock``: its head, then Content-Length bytes of body (without
    one, up to the end of the stream). Short when the server closes the connection early."""
    data = b""
    while b"\r\n\r\n" not in data:
        if not (chunk := sock.recv(65536)):
            return data
        data += chunk
    head = data.partition(b"\r\n\r\n")[0]
    length = re.search(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$", head)
    total = len(head) + 4 + int(length[1]) if length else None
    while total is None or len(data) < total:
        if not (chunk := sock.recv(65536)):
            break
        data += chunk
    return data


def metric_value(text: str, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The first sample called ``name`` that has ``labels`` (among others) in a Prometheus
    exposition; KeyError when there is none."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                return float(sample.value)
    raise KeyError(name)


# --- eidosd processes ------------------------------------------------------------------------------


class EidosdProcess:
    """eidosd started as ``argv`` and listening on 127.0.0.1:``port``; stdout is dropped, stderr
    (the log) is written to ``log_path`` through a descriptor only the process holds."""

    def __init__(
        self, argv: Sequence[str], *, env: Mapping[str, str], port: int, log_path: Path, cwd: Path | str
    ) -> None:
        self.env = dict(env)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                list(argv), env=self.env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )

    def __enter__(self) -> EidosdProcess:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.kill()

    # state and log

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_log(self) -> list[dict[str, Any]]:
        """The log's lines as JSON objects (eidosd logs JSON), blank lines left out."""
        return [json.loads(line) for line in self.log().splitlines() if line.strip()]

    def assert_alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise AssertionError(f"eidosd exited with code {code}:\n{self.log()[-4000:]}")

    def wait_ready(self, within: float = 20.0, path: str = "/ready") -> EidosdProcess:
        """Until ``path`` answers 200 (``/ready``: recipe data loaded). Fails at once if the process
        exits, and kills it if ``path`` does not answer within ``within`` seconds."""

        def answers() -> bool:
            self.assert_alive()
            with urllib.request.urlopen(self.url + path, timeout=1) as resp:
                return bool(resp.status == 200)

        try:
            wait_until(answers, f"eidosd answering {path} with 200", within, ignoring=OSError)  # 503 is an HTTPError
        except GaveUp as exc:
            self.kill()
            raise GaveUp(f"{exc}:\n{self.log()[-4000:]}") from exc.__cause__
        return self

    # HTTP

    def request(
        self, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None, method: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return request(self.url + path, body, headers, method)

    def json(self, path: str) -> tuple[int, Any]:
        status, _, body = self.request(path)
        return status, json.loads(body)

    def metric(self, name: str, **labels: str) -> float:
        """A sample from /metrics (see :func:`metric_value`); 0 when it is not exported yet."""
        _, _, body = self.request("/metrics")
        try:
            return metric_value(body.decode(), name, labels)
        except KeyError:
            return 0.0

    # stopping

    def stop(self, sig: int = signal.SIGTERM, within: float = 30.0) -> int:
        """Send ``sig`` (if it still runs) and wait for the exit code; SIGKILL after ``within`` seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(within)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> int:
        return self.stop(signal.SIGKILL)


def launch_eidosd(workdir: Path, **env: str) -> EidosdProcess:
    """The ``eidosd`` console script on a free port of 127.0.0.1, with this process's environment
    plus ``env``, run in ``workdir`` (its log there too, ``eidosd-PORT.log``); not waited for."""
    assert EIDOSD, "eidosd console script is not installed"
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", **env}
    return EidosdProcess([EIDOSD], env=env, port=port, log_path=workdir / f"eidosd-{port}.log", cwd=workdir)


def start_eidosd(workdir: Path, **env: str) -> EidosdProcess:
    """:func:`launch_eidosd`, then :meth:`EidosdProcess.wait_ready`."""
    return launch_eidosd(workdir, **env).wait_ready()


# --- recipe data in a ConfigMap of the emulated API server ---------------------------------------------

NS = "eidos"
NAME = "recipe-data"


def eks_overlay(version: str) -> dict[str, object]:
    """An overlay for service=eks pinning component b to ``version``: the thing tests change."""
    return {
        "criteria": {"service": "eks"},
        "componentRefs": [{"name": "b", "type": "Helm", "version": version}],
    }


def as_configmap(files: Mapping[str, bytes], namespace: str = NS, name: str = NAME) -> dict[str, Any]:
    """Recipe files as a ConfigMap, with the ``a__b.yaml`` key convention for subdirectories;
    files that are not UTF-8 go to ``binaryData``."""
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    for path, body in files.items():
        key = path.replace("/", "__")
        try:
            data[key] = body.decode()
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(body).decode()
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}
    return doc | ({"binaryData": binary} if binary else {})


def publish(kube: KubeFixture, version: str, **extra: bytes) -> None:
    """The small test data set (tests/conftest.py ``mini_files``) with b at ``version`` in service=eks,
    plus ``extra`` files, put as the ConfigMap ``NS/NAME``."""
    kube.put(as_configmap({**mini_files(eks=eks_overlay(version)), **extra}))


def b_version(store: RecipeStore) -> str:
    overlay = store.overlays["eks"]
    return next(ref.version for ref in overlay.component_refs if ref.name == "b") or ""


class Follower:
    """Consumes ``source.updates()`` in a task so a test can wait for the next event."""

    def __init__(self, source: RecipeSource) -> None:
        self.events: asyncio.Queue[ReloadEvent] = asyncio.Queue()
        self.task = asyncio.create_task(self._run(source))

    async def _run(self, source: RecipeSource) -> None:
        async for event in source.updates():
            await self.events.put(event)

    async def next(self, within: float = 5.0) -> ReloadEvent:
        async with asyncio.timeout(within):
            return await self.events.get()

    async def nothing_within(self, seconds: float) -> None:
        """No event for ``seconds`` (here the wait is the point)."""
        await asyncio.sleep(seconds)
        assert self.events.empty(), f"unexpected event: {self.events.get_nowait()!r}"

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


# --- fixtures --------------------------------------------------------------------------------------

RunEidosd = Callable[..., EidosdProcess]


@pytest.fixture
def run_eidosd(tmp_path: Path) -> Iterator[RunEidosd]:
    """``run_eidosd(**settings)``: :func:`start_eidosd` in ``tmp_path``; whatever still runs at the
    end of the test is killed."""
    started: list[EidosdProcess] = []

    def run(**env: str) -> EidosdProcess:
        started.append(start_eidosd(tmp_path, **env))
        return started[-1]

    yield run
    for server in started:
        server.kill()


NVIDIA_SMI_FAILED = 'echo "NVIDIA-SMI has failed because it could not communicate"'


def fake_nvidia_smi(bin_dir: Path, xml: Path | None = None, *, body: str = "", exit_code: int = 0) -> Path:
    """``bin_dir`` with an ``nvidia-smi`` that prints ``xml`` (for ``-q -x``), or runs ``body`` (sh),
    or fails like a host without a driver, then exits ``exit_code``: the GPU collector's real code
    runs it once ``bin_dir`` is first on PATH."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "nvidia-smi"
    command = body or (f'cat "{xml}"' if xml else NVIDIA_SMI_FAILED)
    script.write_text(f"#!/bin/sh\n{command}\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir


@pytest.fixture
def make_client(aiohttp_client: Any) -> MakeClient:
    """``await make_client(settings=None, source=None, extra=None)``: a test client of a new app;
    ``extra(app)`` runs before it starts (routes or signals a test adds)."""
    from eidosd.app import create_app
    from eidosd.keys import RECIPES
    from eidosd.settings import Settings

    async def make(settings: Settings | None = None, source: RecipeSource | None = None, extra: Any = None) -> Client:
        app = create_app(settings or Settings(), source)
        if extra:
            extra(app)
        client: Client = await aiohttp_client(app)

        async def loaded() -> bool:  # the first load runs in the background
            return app[RECIPES].store is not None

        await wait_until_async(loaded, "recipe data loaded", every=0.01)
        return client

    return make


@pytest.fixture(scope="module")
def module_eidosd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EidosdProcess]:
    """One quiet eidosd process (errors only, no rate limit) shared by a module's tests."""
    proc = start_eidosd(tmp_path_factory.mktemp("eidosd"), LOG_LEVEL="error", **NO_RATE_LIMIT)
    yield proc
    proc.kill()


# The cluster the snapshot tests read: EKS 1.32, one H100 node, the agent's namespace.
GPU_NS = "gpu-operator"
GPU_NODE = "gpu-node-1"


@pytest.fixture
def gpu_cluster(kube: KubeFixture) -> KubeFixture:
    """The emulated API server serving an EKS 1.32 cluster with one 8-GPU H100 node (``GPU_NODE``)
    and the namespace ``GPU_NS``."""
    kube.emulator.set_version("v1.32.4-eks-8a2b3c1")
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GPU_NS}})
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": GPU_NODE, "labels": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
            "spec": {"providerID": "aws:///us-east-1a/i-0abc"},
            "status": {
                "allocatable": {"nvidia.com/gpu": "8"},
                "nodeInfo": {"kubeletVersion": "v1.32.4-eks-8a2b3c1", "containerRuntimeVersion": "containerd://1.7"},
            },
        }
    )
    return kube
