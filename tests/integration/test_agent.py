"""``python -m eidos_agent`` as a process: collectors on this machine plus a fake ``nvidia-smi``,
the K8s collector and the ConfigMap write against the emulated API server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from eidos_core import yaml
from eidos_core.snapshot.criteria import criteria_from_snapshot
from eidos_core.snapshot.model import snapshot_from_document
from tests.kube.emulator import KubeFixture
from tests.support import GPU_NODE, GPU_NS, fake_nvidia_smi

NS = GPU_NS
NODE = GPU_NODE


@pytest.fixture
def cluster(gpu_cluster: KubeFixture) -> KubeFixture:
    return gpu_cluster


async def run_agent(tmp_path: Path, *args: str, path_dirs: list[Path] = ()) -> tuple[int, str, str]:  # type: ignore[assignment]
    env = {**os.environ, "NODE_NAME": NODE}
    env["PATH"] = os.pathsep.join([*(str(d) for d in path_dirs), env.get("PATH", "")])
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "eidos_agent", *args,
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def written_snapshot(kube: KubeFixture, name: str = "eidos-snapshot") -> dict[str, Any]:
    obj = kube.get("configmaps", NS, name)
    assert obj is not None, "no ConfigMap was written"
    assert obj["metadata"]["labels"]["app.kubernetes.io/component"] == "snapshot"
    doc: dict[str, Any] = yaml.load(obj["data"]["snapshot.yaml"].encode())
    return doc


async def test_agent_writes_a_snapshot_configmap_with_h100_criteria(
    cluster: KubeFixture, reference_dir: Path, tmp_path: Path
) -> None:
    fake_nvidia_smi(tmp_path / "bin", reference_dir / "nvidia-smi" / "gpu.xml")
    code, _, err = await run_agent(tmp_path, "--output", f"cm://{NS}/eidos-snapshot", path_dirs=[tmp_path / "bin"])
    assert code == 0, err

    doc = written_snapshot(cluster)
    assert doc["kind"] == "Snapshot" and doc["apiVersion"] == "eidos.nvidia.com/v1alpha1"
    meta = doc["metadata"]
    assert meta["source-node"] == NODE and meta["timestamp"].endswith("Z") and meta["version"]
    assert meta["collector.gpu"] == "ok", meta
    assert meta["collector.os"] in ("ok",) or meta["collector.os"].startswith("partial: ")
    assert {m["type"] for m in doc["measurements"]} >= {"K8s", "GPU", "OS"}, meta["collector.k8s"]

    snapshot = snapshot_from_document(doc, source="cm")
    assert snapshot_from_document(snapshot_to_doc(snapshot)) == snapshot  # parses back into the same snapshot
    criteria = criteria_from_snapshot(snapshot)
    assert criteria.accelerator == "h100"
    assert criteria.service == "eks"
    assert snapshot.lookup("K8s", "node", "provider") == "eks"


def snapshot_to_doc(snapshot: Any) -> Any:
    from eidos_core.snapshot.model import snapshot_to_document

    return snapshot_to_document(snapshot)


async def test_missing_and_failing_sources_are_recorded_not_fatal(cluster: KubeFixture, tmp_path: Path) -> None:
    fake_nvidia_smi(tmp_path / "bin", None, exit_code=9)
    code, _, err = await run_agent(
        tmp_path, "--output", f"cm://{NS}/snap", "--host-root", str(tmp_path / "no-host"),
        path_dirs=[tmp_path / "bin"],
    )  # fmt: skip
    assert code == 0, err
    meta = written_snapshot(cluster, "snap")["metadata"]
    assert meta["collector.gpu"].startswith("skipped: nvidia-smi exited with status 9: NVIDIA-SMI has failed")
    assert meta["collector.os"].startswith("partial: ") and "no-host" in meta["collector.os"]
    gpu = next(m for m in written_snapshot(cluster, "snap")["measurements"] if m["type"] == "GPU")
    assert any(s["data"].get("gpu-count") in (0, "0") for s in gpu["subtypes"])


async def test_no_collector_succeeding_exits_1_and_writes_nothing(cluster: KubeFixture, tmp_path: Path) -> None:
    await cluster.stop()
    # --api-deadline: a stopped API server is retried (it may be restarting) only that long
    code, _, err = await run_agent(tmp_path, "--collectors", "k8s,gpu", "--output", str(tmp_path / "snap.yaml"),
                                   "--api-deadline", "1", path_dirs=[tmp_path / "empty"])  # fmt: skip
    assert code == 1
    assert "no collector succeeded; nothing written" in err
    assert "k8s: skipped: " in err and "gpu: skipped: nvidia-smi not found on PATH" in err
    assert not (tmp_path / "snap.yaml").exists()


async def test_a_forbidden_write_fails_with_the_rbac_to_grant(cluster: KubeFixture, tmp_path: Path) -> None:
    cluster.emulator.forbid("create", "configmaps", NS)
    code, _, err = await run_agent(tmp_path, "--collectors", "os", "--output", f"cm://{NS}/eidos-snapshot")
    assert code == 4, err
    assert "grant RBAC verb 'create' on resource 'configmaps'" in err
    assert cluster.get("configmaps", NS, "eidos-snapshot") is None


async def test_output_to_stdout_and_bad_flags(tmp_path: Path) -> None:
    code, out, err = await run_agent(tmp_path, "--collectors", "os", "--output", "-", "--format", "json")
    assert code == 0, err
    assert '"kind": "Snapshot"' in out and '"collector.os"' in out
    code, _, err = await run_agent(tmp_path, "--collectors", "os,nvml")
    assert code == 2 and "unknown collector 'nvml' (choose from k8s, gpu, os, systemd)" in err


async def test_k8s_collector_reads_pods_in_pages(cluster: KubeFixture) -> None:
    from eidos_agent.collectors import k8s

    for i in range(7):
        cluster.put(
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": NS},
             "spec": {"containers": [{"name": "c", "image": f"registry.example/img{i}:v{i}"}]},
             "status": {"phase": "Running"}}
        )  # fmt: skip
    async with cluster.api_client() as api:
        result = await k8s.collect_k8s(api, NODE, page_size=3)  # three pages of at most three pods
    assert result.measurement is not None
    images = next(s for s in result.measurement.subtypes if s.name == "image").data
    assert images == {f"img{i}": f"v{i}" for i in range(7)}
    lists = [r for r in cluster.emulator._requests if r.method == "GET" and str(r.url.path) == "/api/v1/pods"]
    assert len(lists) == 3


# --- transient API failures: retried, within the deadline ------------------------------------------

SNAPSHOT_CM = f"/api/v1/namespaces/{NS}/configmaps/eidos-snapshot"


def requests_to(kube: KubeFixture, method: str, path: str) -> int:
    return sum(1 for r in kube.emulator._requests if r.method == method and str(r.url.path) == path)


async def test_the_write_survives_a_503_and_a_dropped_connection(cluster: KubeFixture, tmp_path: Path) -> None:
    cluster.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "eidos-snapshot", "namespace": NS},
                 "data": {"snapshot.yaml": "old: true\n"}})  # fmt: skip
    # aiohttp itself resends an idempotent request (GET, PUT) once after a disconnect, so drop twice.
    cluster.emulator.drop_next("get", "configmaps", namespace=NS, count=2)  # the read of the existing ConfigMap
    cluster.emulator[f"put {SNAPSHOT_CM}"][:1] << 503  # kmock's DSL: only the first update answers 503
    code, _, err = await run_agent(tmp_path, "--collectors", "os", "--output", f"cm://{NS}/eidos-snapshot")
    assert code == 0, err
    assert written_snapshot(cluster)["kind"] == "Snapshot"
    assert requests_to(cluster, "GET", SNAPSHOT_CM) == 3 and requests_to(cluster, "PUT", SNAPSHOT_CM) == 2
    retries = [line for line in err.splitlines() if " WARNING " in line and "retry" in line]
    assert len(retries) == 2, err
    assert "get ConfigMap gpu-operator/eidos-snapshot failed (ServerDisconnectedError" in retries[0]
    assert "update ConfigMap gpu-operator/eidos-snapshot failed (HTTP 503" in retries[1]


async def test_a_create_whose_connection_drops_is_retried(cluster: KubeFixture, tmp_path: Path) -> None:
    cluster.emulator.drop_next("create", "configmaps", namespace=NS)
    code, _, err = await run_agent(tmp_path, "--collectors", "os", "--output", f"cm://{NS}/eidos-snapshot")
    assert code == 0, err
    assert written_snapshot(cluster)["kind"] == "Snapshot"
    assert "create ConfigMap gpu-operator/eidos-snapshot failed (ServerDisconnectedError" in err


async def test_429_waits_as_long_as_retry_after_says(cluster: KubeFixture, tmp_path: Path) -> None:
    cluster.emulator.fail_next("create", "configmaps", 429, retry_after=1, count=2, message="too many requests")
    code, _, err = await run_agent(tmp_path, "--collectors", "os", "--output", f"cm://{NS}/eidos-snapshot")
    assert code == 0, err
    assert err.count("failed (HTTP 429 Too Many Requests); retry") == 2, err
    assert "retry 1 in 1.0s" in err and "retry 2 in 1.0s" in err
    assert written_snapshot(cluster)["kind"] == "Snapshot"


async def test_an_unavailable_api_gives_up_at_the_deadline(cluster: KubeFixture, tmp_path: Path) -> None:
    cluster.emulator.fail_next("create", "configmaps", 503, count=1000)
    code, _, err = await run_agent(
        tmp_path, "--collectors", "os", "--output", f"cm://{NS}/eidos-snapshot", "--api-deadline", "2"
    )
    assert code == 6, err
    assert "eidos-agent: Kubernetes API error 503 on create configmaps gpu-operator/eidos-snapshot" in err
    assert "giving up after" in err
    assert 2 <= requests_to(cluster, "POST", f"/api/v1/namespaces/{NS}/configmaps") < 50
    assert cluster.get("configmaps", NS, "eidos-snapshot") is None


async def test_invalid_is_not_retried(cluster: KubeFixture, tmp_path: Path) -> None:
    cluster.emulator.fail_next("create", "configmaps", 422, message="scripted: invalid")
    code, _, err = await run_agent(tmp_path, "--collectors", "os", "--output", f"cm://{NS}/eidos-snapshot")
    assert code == 2, err
    assert "rejected by the API server (422): scripted: invalid" in err and "retry" not in err
    assert requests_to(cluster, "POST", f"/api/v1/namespaces/{NS}/configmaps") == 1


async def test_k8s_collector_retries_and_otherwise_records_partial(cluster: KubeFixture) -> None:
    from eidos_agent.collectors import k8s
    from eidos_core.kube.retry import NO_RETRY, RetryPolicy

    cluster.emulator.fail_next("list", "pods", 503)
    cluster.emulator.drop_next("get", "nodes", count=2)  # twice: aiohttp resends a GET once by itself
    cluster.emulator.fail_next("list", "clusterpolicies.nvidia.com", 429, retry_after=0)
    async with cluster.api_client() as api:
        result = await k8s.collect_k8s(api, NODE, retry=RetryPolicy(deadline=30, base_delay=0.05))
    assert result.measurement is not None and result.notes == ()
    assert {s.name for s in result.measurement.subtypes} == {"server", "image", "policy", "node"}

    cluster.emulator.fail_next("list", "pods", 503)
    async with cluster.api_client() as api:  # no retries: the part is left out with its reason
        result = await k8s.collect_k8s(api, NODE, retry=NO_RETRY)
    assert result.measurement is not None
    assert [n for n in result.notes if n.startswith("image: Kubernetes API error 503")], result.notes
    assert "image" not in {s.name for s in result.measurement.subtypes}


async def test_bad_api_deadline_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = await run_agent(tmp_path, "--collectors", "os", "--api-deadline", "soon")
    assert code == 2 and "'soon' is not a number of seconds >= 0" in err
