"""Benchmark: how long after a recipe data change eidosd serves it (design target ≤ 2 s).

    .venv/bin/python -m bench.reload

Starts eidosd as a process twice: on a data directory (RECIPE_DATA_PATH, polled) and on a
ConfigMap (RECIPE_CONFIGMAP, watched) held by the project's emulated Kubernetes API. Each
round changes one overlay's chart version and polls /v1/recipe every 5 ms until it shows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from eidos_core import yaml
from tests.conftest import metadata_doc, mini_files
from tests.kube.emulator import serve_kube

ROUNDS = 10
EIDOSD = shutil.which("eidosd", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))


def overlay(version: str) -> bytes:
    spec = {"criteria": {"service": "eks"}, "componentRefs": [{"name": "b", "type": "Helm", "version": version}]}
    return yaml.dump(metadata_doc("eks", spec)).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def served(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(base + "/v1/recipe?service=eks") as resp:
        if resp.status != 200:
            return ""
        doc = await resp.json()
    return str(next(r.get("version") for r in doc["componentRefs"] if r["name"] == "b"))


async def measure(env: dict[str, str], change: Callable[[str], Awaitable[None]], cwd: Path) -> list[float]:
    assert EIDOSD, "eidosd is not installed"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = await asyncio.create_subprocess_exec(
        EIDOSD, env={**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "warning"},
        cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    times: list[float] = []
    try:
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(20):
                while True:
                    try:
                        if await served(http, base) == "1.0.0":
                            break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.05)
            for i in range(1, ROUNDS + 1):
                version = f"1.{i}.0"
                await asyncio.sleep(0.3)  # let the previous change settle
                start = loop.time()
                await change(version)
                async with asyncio.timeout(10):
                    while await served(http, base) != version:  # noqa: ASYNC110 - polling another process
                        await asyncio.sleep(0.005)
                times.append(loop.time() - start)
    finally:
        proc.terminate()
        await proc.wait()
    return times


def report(name: str, times: list[float]) -> None:
    print(f"{name:<28} median {statistics.median(times) * 1000:6.0f} ms, max {max(times) * 1000:6.0f} ms "
          f"({len(times)} changes)")  # fmt: skip


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "data"
        for rel, body in {**mini_files(), "overlays/eks.yaml": overlay("1.0.0")}.items():
            (data / rel).parent.mkdir(parents=True, exist_ok=True)
            (data / rel).write_bytes(body)

        async def write_file(version: str) -> None:
            staged = data / "overlays" / ".eks.tmp"
            staged.write_bytes(overlay(version))
            staged.replace(data / "overlays" / "eks.yaml")

        report("directory (RECIPE_DATA_PATH)", await measure({"RECIPE_DATA_PATH": str(data)}, write_file, root))

        (root / "kube").mkdir()
        async with serve_kube(root / "kube") as kube:
            kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "eidos"}})
            files = {**mini_files(), "overlays/eks.yaml": overlay("1.0.0")}

            async def put_configmap(version: str) -> None:
                files["overlays/eks.yaml"] = overlay(version)
                kube.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "data", "namespace": "eidos"},
                          "data": {k.replace("/", "__"): v.decode() for k, v in files.items()}})  # fmt: skip

            await put_configmap("1.0.0")
            env = {"RECIPE_CONFIGMAP": "eidos/data", "KUBECONFIG": str(kube.kubeconfig), "NO_PROXY": "127.0.0.1"}
            report("ConfigMap (RECIPE_CONFIGMAP)", await measure(env, put_configmap, root))


if __name__ == "__main__":
    asyncio.run(main())
