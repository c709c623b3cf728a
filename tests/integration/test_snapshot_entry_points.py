"""``python -m eidos_agent`` and ``eidos-cli snapshot`` (local mode) are one snapshot run.

Every case runs both programs as processes, against the same fake ``nvidia-smi`` on PATH and the
emulated API server, and expects the same outcome and exit code from both: a CLI that ran its own
collection (another collector time limit, another retry deadline, another code for "nothing
collected") fails here. The flags are also checked to be the very same declarations.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from eidos_core import yaml
from tests.kube.emulator import KubeFixture
from tests.support import EIDOS_CLI, GPU_NODE, GPU_NS, fake_nvidia_smi

NS = GPU_NS
NODE = GPU_NODE
ENTRY_POINTS = ("agent", "cli")
CREATE_CM = f"/api/v1/namespaces/{NS}/configmaps"

H100_XML = """<?xml version="1.0" ?>
<nvidia_smi_log>
  <driver_version>570.86.15</driver_version>
  <cuda_version>12.8</cuda_version>
  <gpu id="00000000:00:1E.0">
    <product_name>NVIDIA H100 80GB HBM3</product_name>
    <product_architecture>Hopper</product_architecture>
    <uuid>GPU-test-0</uuid>
    <fb_memory_usage><total>81559 MiB</total></fb_memory_usage>
  </gpu>
</nvidia_smi_log>
"""


def working_gpu(tmp_path: Path) -> Path:
    xml = tmp_path / "h100.xml"
    xml.write_text(H100_XML)
    return fake_nvidia_smi(tmp_path / "bin", xml)


def failing_gpu(tmp_path: Path) -> Path:
    # A failing one rather than none: a real nvidia-smi later on PATH (a GPU machine) cannot interfere.
    return fake_nvidia_smi(tmp_path / "bin", exit_code=9)


def hanging_gpu(tmp_path: Path) -> Path:
    return fake_nvidia_smi(tmp_path / "bin", body="sleep 30")


async def snapshot(
    entry: str, tmp_path: Path, *args: str, bin_dir: Path, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run one entry point: ``python -m eidos_agent ARGS`` or ``eidos-cli snapshot ARGS``."""
    if entry == "agent":
        argv = [sys.executable, "-m", "eidos_agent", *args]
    else:
        assert EIDOS_CLI, "the eidos-cli console script is not installed"
        argv = [EIDOS_CLI, "snapshot", *args]
    full_env = {k: v for k, v in os.environ.items() if k not in ("EIDOS_API_DEADLINE", "EIDOS_HOST_ROOT")}
    full_env |= {"NODE_NAME": NODE, **(env or {})}
    full_env["PATH"] = os.pathsep.join([str(bin_dir), full_env.get("PATH", "")])
    proc = await asyncio.create_subprocess_exec(
        *argv, env=full_env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def cluster(gpu_cluster: KubeFixture) -> KubeFixture:
    return gpu_cluster


def configmap_snapshot(kube: KubeFixture, name: str) -> dict[str, Any]:
    obj = kube.get("configmaps", NS, name)
    assert obj is not None, f"ConfigMap {name} was not written"
    doc: dict[str, Any] = yaml.load(obj["data"]["snapshot.yaml"].encode())
    return doc


def creates(kube: KubeFixture) -> int:
    return sum(1 for r in kube.emulator._requests if r.method == "POST" and str(r.url.path) == CREATE_CM)


async def test_both_write_the_same_snapshot(cluster: KubeFixture, tmp_path: Path) -> None:
    bin_dir = working_gpu(tmp_path)
    docs = {}
    for entry in ENTRY_POINTS:
        code, _, err = await snapshot(
            entry, tmp_path, "-o", f"cm://{NS}/snap-{entry}", "--collectors", "k8s,gpu", bin_dir=bin_dir
        )
        assert code == 0, err
        docs[entry] = configmap_snapshot(cluster, f"snap-{entry}")
    for doc in docs.values():
        del doc["metadata"]["timestamp"]
    assert docs["agent"] == docs["cli"]
    meta = docs["cli"]["metadata"]
    assert (meta["collector.k8s"], meta["collector.gpu"], meta["source-node"]) == ("ok", "ok", NODE)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
async def test_every_collector_skipped_exits_1_and_writes_nothing(
    cluster: KubeFixture, tmp_path: Path, entry: str
) -> None:
    await cluster.stop()  # the K8s collector cannot reach the API (retried for --api-deadline only)
    out = tmp_path / "snap.yaml"
    code, _, err = await snapshot(
        entry, tmp_path, "--collectors", "k8s,gpu", "-o", str(out), "--api-deadline", "1", bin_dir=failing_gpu(tmp_path)
    )
    assert code == 1, err
    assert "no collector succeeded; nothing written (k8s: skipped: " in err
    assert "gpu: skipped: nvidia-smi exited with status 9: NVIDIA-SMI has failed" in err
    assert not out.exists()


@pytest.mark.parametrize("entry", ENTRY_POINTS)
async def test_time_limits_come_from_the_flags(tmp_path: Path, entry: str) -> None:
    bin_dir = hanging_gpu(tmp_path)
    loop = asyncio.get_running_loop()
    started = loop.time()
    code, _, err = await snapshot(
        entry, tmp_path, "--collectors", "gpu", "--collector-timeout", "1", "--gpu-timeout", "20", bin_dir=bin_dir
    )
    assert code == 1, err
    assert "gpu: skipped: timed out after 1s" in err
    code, _, err = await snapshot(
        entry, tmp_path, "--collectors", "gpu", "--collector-timeout", "20", "--gpu-timeout", "1", bin_dir=bin_dir
    )
    assert code == 1, err
    assert "gpu: skipped: nvidia-smi did not finish within 1 s" in err
    assert loop.time() - started < 20, "a time limit other than the flags' was applied"


@pytest.mark.parametrize("entry", ENTRY_POINTS)
async def test_an_api_unavailable_past_the_deadline_exits_6(cluster: KubeFixture, tmp_path: Path, entry: str) -> None:
    cluster.emulator.fail_next("create", "configmaps", 503, count=1000)
    code, _, err = await snapshot(
        entry, tmp_path, "--collectors", "gpu", "-o", f"cm://{NS}/eidos-snapshot", "--api-deadline", "2",
        bin_dir=working_gpu(tmp_path),
    )  # fmt: skip
    assert code == 6, err
    assert "collector gpu: ok" in err
    assert f"Kubernetes API error 503 on create configmaps {NS}/eidos-snapshot" in err and "giving up after" in err
    assert 2 <= creates(cluster) < 50
    assert cluster.get("configmaps", NS, "eidos-snapshot") is None


@pytest.mark.parametrize("entry", ENTRY_POINTS)
async def test_the_deadline_comes_from_the_environment_too(cluster: KubeFixture, tmp_path: Path, entry: str) -> None:
    cluster.emulator.fail_next("create", "configmaps", 503, count=1000)
    loop = asyncio.get_running_loop()
    started = loop.time()
    code, _, err = await snapshot(
        entry, tmp_path, "--collectors", "os", "-o", f"cm://{NS}/eidos-snapshot",
        bin_dir=tmp_path, env={"EIDOS_API_DEADLINE": "0"},
    )  # fmt: skip
    assert code == 6, err
    assert creates(cluster) == 1 and "retry" not in err  # 0: no retries, not the default 90 s
    assert loop.time() - started < 30


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("scenario", "output", "expected", "message"),
    [
        ("forbidden", f"cm://{NS}/eidos-snapshot", 4, "grant RBAC verb 'create' on resource 'configmaps'"),
        ("no namespace", "cm://elsewhere/eidos-snapshot", 3, "elsewhere"),
        ("rejected", f"cm://{NS}/eidos-snapshot", 2, "rejected by the API server (422): scripted: invalid"),
        ("read-only destination", "https://example.invalid/snap.yaml", 2, "http(s) locations are read-only"),
    ],
)
async def test_a_failed_write_exits_with_its_code(
    cluster: KubeFixture, tmp_path: Path, entry: str, scenario: str, output: str, expected: int, message: str
) -> None:
    if scenario == "forbidden":
        cluster.emulator.forbid("create", "configmaps", NS)
    elif scenario == "rejected":
        cluster.emulator.fail_next("create", "configmaps", 422, message="scripted: invalid")
    code, _, err = await snapshot(entry, tmp_path, "--collectors", "os", "-o", output, bin_dir=tmp_path)
    assert code == expected, err
    assert message in err
    if scenario == "read-only destination":
        assert "collector os" not in err, "collected before refusing a destination it can never write"


def _collection_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    flags = ("--node-name", "--host-root", "--collectors", "--collector-timeout", "--gpu-timeout", "--api-deadline")
    return {flag: parser._option_string_actions[flag] for flag in flags}


def test_both_parsers_declare_the_same_collection_flags() -> None:
    from eidos_agent.__main__ import build_parser as agent_parser
    from eidos_cli.__main__ import build_parser as cli_parser

    subparsers = next(a for a in cli_parser()._actions if isinstance(a, argparse._SubParsersAction))
    cli = _collection_actions(subparsers.choices["snapshot"])
    agent = _collection_actions(agent_parser())
    for flag, action in agent.items():
        other = cli[flag]
        assert (other.default, other.type, other.metavar) == (action.default, action.type, action.metavar), flag
        assert other.help and action.help and other.help.startswith(action.help), flag
