"""``eidos-cli snapshot --deploy-agent`` against the emulated API server.

A small "kubelet" in the test watches for the agent Job and runs the container it describes
(``python -m eidos_agent`` with the Job's own args, NODE_NAME from the downward API, a fake
``nvidia-smi``), then reports the Job Complete or Failed, as a cluster would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from eidos_core import yaml
from eidos_core.snapshot.criteria import criteria_from_snapshot
from eidos_core.snapshot.model import snapshot_from_document
from tests.kube.emulator import KubeFixture
from tests.support import EIDOS_CLI, GPU_NODE, GPU_NS, fake_nvidia_smi

NS = GPU_NS
NODE = GPU_NODE
RBAC = ("serviceaccounts", "roles", "rolebindings")
CLUSTER_RBAC = {"clusterroles": "eidos-node-reader", "clusterrolebindings": "eidos-node-reader-gpu-operator-eidos"}


@pytest.fixture
def cluster(gpu_cluster: KubeFixture) -> KubeFixture:
    return gpu_cluster


class Kubelet:
    """Runs the agent Job's container as a local process and reports the outcome on the Job."""

    def __init__(self, kube: KubeFixture, tmp_path: Path, *, path_dirs: list[Path], run: bool = True) -> None:
        self.kube = kube
        self.tmp_path = tmp_path
        self.path_dirs = path_dirs
        self.run = run
        self.job: dict[str, Any] | None = None
        self.rbac: dict[str, Any] = {}
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while (job := self.kube.get("jobs", NS, "eidos")) is None:  # noqa: ASYNC110 - polling like a kubelet
            await asyncio.sleep(0.02)
        self.job = job
        self.rbac = {r: self.kube.get(r, NS, "eidos") for r in RBAC}
        self.rbac |= {r: self.kube.get(r, None, name) for r, name in CLUSTER_RBAC.items()}
        if not self.run:
            return
        template = job["spec"]["template"]
        container = template["spec"]["containers"][0]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "eidos-x7k2p", "namespace": NS, "labels": {**template["metadata"]["labels"],
                                                                            "job-name": "eidos"}},
            "spec": {**template["spec"], "nodeName": NODE},
            "status": {"phase": "Running"},
        }  # fmt: skip
        self.kube.put(pod)
        env = {**os.environ, "NODE_NAME": NODE, "KUBECONFIG": str(self.kube.kubeconfig)}
        env["PATH"] = os.pathsep.join([*(str(d) for d in self.path_dirs), env["PATH"]])
        command = [sys.executable if c == "python" else c for c in container["command"]]
        proc = await asyncio.create_subprocess_exec(
            *command, *container["args"], env=env, cwd=self.tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        self.kube.emulator.pod_logs[(NS, "eidos-x7k2p")] = out.decode()
        ok = proc.returncode == 0
        condition = {"type": "Complete" if ok else "Failed", "status": "True"}
        if not ok:
            condition |= {"reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}
        job = self.kube.get("jobs", NS, "eidos")
        assert job is not None
        job["status"] = {"conditions": [condition], "succeeded" if ok else "failed": 1}
        self.kube.put(job)
        pod["status"] = {"phase": "Succeeded" if ok else "Failed"}
        self.kube.put(pod)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def kubelets() -> AsyncIterator[list[Kubelet]]:
    started: list[Kubelet] = []
    yield started
    for kubelet in started:
        await kubelet.stop()


async def eidos_cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    assert EIDOS_CLI, "the eidos-cli console script is not installed"
    proc = await asyncio.create_subprocess_exec(
        EIDOS_CLI, *args, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(90):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def leftovers(kube: KubeFixture) -> list[str]:
    found = [f"{r}/eidos" for r in (*RBAC, "jobs") if kube.get(r, NS, "eidos")]
    return found + [f"{r}/{name}" for r, name in CLUSTER_RBAC.items() if kube.get(r, None, name)]


async def test_deploy_agent_writes_the_snapshot_to_a_file_and_cleans_up(
    cluster: KubeFixture, kubelets: list[Kubelet], reference_dir: Path, tmp_path: Path
) -> None:
    bin_dir = fake_nvidia_smi(tmp_path / "bin", reference_dir / "nvidia-smi" / "gpu.xml")
    kubelet = Kubelet(cluster, tmp_path, path_dirs=[bin_dir])
    kubelets.append(kubelet)
    code, out, err = await eidos_cli(
        tmp_path, "snapshot", "--deploy-agent", "-o", str(tmp_path / "snap.yaml"), "--timeout", "60s",
        "--node-selector", "nvidia.com/gpu.present=true", "--toleration", "nvidia.com/gpu:NoSchedule",
    )  # fmt: skip
    assert code == 0, err
    assert out == ""

    snapshot = snapshot_from_document(yaml.load((tmp_path / "snap.yaml").read_bytes()))
    criteria = criteria_from_snapshot(snapshot)
    assert (criteria.service, criteria.accelerator) == ("eks", "h100")
    assert snapshot.metadata["source-node"] == NODE

    # The Job and RBAC it ran with: restricted, least privilege, scheduled where asked.
    assert kubelet.job is not None
    pod = kubelet.job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    security = pod["containers"][0]["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"] and not security["privileged"]
    assert kubelet.rbac["roles"]["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": ["get", "update"],
            "resourceNames": ["eidos-snapshot"],
        },
    ]
    granted = {
        (g, r) for rule in kubelet.rbac["clusterroles"]["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    assert granted == {("", "nodes"), ("", "pods"), ("nvidia.com", "clusterpolicies")}

    assert leftovers(cluster) == []
    assert cluster.get("configmaps", NS, "eidos-snapshot") is not None, "the snapshot ConfigMap is kept"


async def test_deploy_agent_to_a_configmap_keeps_objects_without_cleanup(
    cluster: KubeFixture, kubelets: list[Kubelet], tmp_path: Path
) -> None:
    kubelets.append(Kubelet(cluster, tmp_path, path_dirs=[]))
    code, out, err = await eidos_cli(
        tmp_path, "snapshot", "--deploy-agent", "-o", f"cm://{NS}/node-facts", "--cleanup=false"
    )
    assert code == 0, err
    assert out == "" and "snapshot saved to ConfigMap" in err
    cm = cluster.get("configmaps", NS, "node-facts")
    assert cm is not None and "snapshot.yaml" in cm["data"]
    assert sorted(leftovers(cluster)) == sorted(
        [f"{r}/eidos" for r in (*RBAC, "jobs")] + [f"{r}/{name}" for r, name in CLUSTER_RBAC.items()]
    )


async def test_the_job_requests_one_gpu_unless_all_gpus_is_asked_for(
    cluster: KubeFixture, kubelets: list[Kubelet], tmp_path: Path
) -> None:
    for flags, gpu_limit, visible in (([], "1", None), (["--all-gpus"], None, "all")):
        kubelets.append(Kubelet(cluster, tmp_path, path_dirs=[]))
        code, _, err = await eidos_cli(
            tmp_path, "snapshot", "--deploy-agent", "-o", f"cm://{NS}/node-facts", "--cleanup=false", *flags
        )
        assert code == 0, err
        job = cluster.get("jobs", NS, "eidos")
        assert job is not None
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container.get("resources", {}).get("limits", {}).get("nvidia.com/gpu") == gpu_limit
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env.get("NVIDIA_VISIBLE_DEVICES") == visible
        for resource in ("jobs", *RBAC):
            cluster.delete(resource, NS, "eidos")


async def test_collection_flags_are_passed_on_to_the_job(
    cluster: KubeFixture, kubelets: list[Kubelet], tmp_path: Path
) -> None:
    kubelet = Kubelet(cluster, tmp_path, path_dirs=[])
    kubelets.append(kubelet)
    code, _, err = await eidos_cli(
        tmp_path, "snapshot", "--deploy-agent", "-o", f"cm://{NS}/node-facts", "-t", "json", "--timeout", "20s",
        "--collectors", "os,k8s", "--collector-timeout", "30", "--api-deadline", "5", "--node-name", "elsewhere",
    )  # fmt: skip
    assert code == 0, err
    assert kubelet.job is not None
    (container,) = kubelet.job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [
        "--output", f"cm://{NS}/node-facts", "--namespace", NS,
        "--collectors", "os,k8s", "--collector-timeout", "30.0", "--api-deadline", "5.0", "--format", "json",
    ]  # fmt: skip
    assert "--timeout may end the wait before the agent has written its snapshot" in err  # 20 s < 30 s + 5 s
    cm = cluster.get("configmaps", NS, "node-facts")
    assert cm is not None and cm["data"]["format"] == "json"
    doc = json.loads(cm["data"]["snapshot.json"])
    assert sorted(k for k in doc["metadata"] if k.startswith("collector.")) == ["collector.k8s", "collector.os"]
    assert doc["metadata"]["source-node"] == NODE  # the node the Job ran on, not --node-name


async def test_cleanup_leaves_objects_that_existed_before(
    cluster: KubeFixture, kubelets: list[Kubelet], tmp_path: Path
) -> None:
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "eidos", "namespace": NS}}
    cluster.put(sa)
    kubelets.append(Kubelet(cluster, tmp_path, path_dirs=[]))
    code, _, err = await eidos_cli(tmp_path, "snapshot", "--deploy-agent", "-o", "-", "-t", "json")
    assert code == 0, err
    assert leftovers(cluster) == ["serviceaccounts/eidos"]


async def test_a_failed_job_shows_the_agent_log_and_exits_6(
    cluster: KubeFixture, kubelets: list[Kubelet], tmp_path: Path
) -> None:
    cluster.emulator.forbid("create", "configmaps", NS)  # the agent's write fails inside the Job
    kubelets.append(Kubelet(cluster, tmp_path, path_dirs=[]))
    code, _, err = await eidos_cli(tmp_path, "snapshot", "--deploy-agent", "-o", str(tmp_path / "snap.yaml"))
    assert code == 6, err
    assert "the Job failed: BackoffLimitExceeded Job has reached the specified backoff limit" in err
    assert "--- agent log (last 20 lines) ---" in err and "forbidden: cannot create configmaps" in err
    assert not (tmp_path / "snap.yaml").exists()
    assert leftovers(cluster) == []


async def test_a_job_that_never_finishes_times_out(
    cluster: KubeFixture, kubelets: list[Kubelet], tmp_path: Path
) -> None:
    kubelets.append(Kubelet(cluster, tmp_path, path_dirs=[], run=False))
    code, _, err = await eidos_cli(tmp_path, "snapshot", "--deploy-agent", "--timeout", "1s")
    assert code == 5, err
    assert "did not finish within 1s" in err
    assert leftovers(cluster) == []


async def test_missing_rbac_rights_name_what_to_grant_and_leave_nothing(cluster: KubeFixture, tmp_path: Path) -> None:
    cluster.emulator.forbid("create", "clusterroles")
    code, _, err = await eidos_cli(tmp_path, "snapshot", "--deploy-agent")
    assert code == 4, err
    assert "grant RBAC verb 'create' on resource 'clusterroles'" in err
    assert leftovers(cluster) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--node-selector", "novalue"], "invalid --node-selector: invalid format 'novalue', expected key=value"),
        (["--toleration", "a:b:c"], "invalid --toleration: invalid format 'a:b:c'"),
        (["--timeout", "soon"], "--timeout='soon': not a duration"),
        (["-o", "cm://Bad_NS/x"], "cm://Bad_NS/x"),
        (["-o", "cm://kube-system/x"], "may only write in its own namespace 'gpu-operator', not 'kube-system'"),
        (["-o", "cm://gpu-operator/x", "-t", "table"], "the agent Job writes a ConfigMap as yaml or json"),
        (["--api-deadline", "-1"], "'-1' is not a number of seconds >= 0"),
    ],
)
async def test_bad_agent_flags_fail_before_touching_the_cluster(
    cluster: KubeFixture, tmp_path: Path, args: list[str], message: str
) -> None:
    code, _, err = await eidos_cli(tmp_path, "snapshot", "--deploy-agent", *args)
    assert code == 2, err
    assert message in err
    assert leftovers(cluster) == []


async def test_an_image_that_cannot_be_pulled_fails_fast(cluster: KubeFixture, tmp_path: Path) -> None:
    async def kubelet() -> None:
        while cluster.get("jobs", NS, "eidos") is None:  # noqa: ASYNC110 - polling like a kubelet
            await asyncio.sleep(0.02)
        cluster.put(
            {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "eidos-abcde", "namespace": NS, "labels": {"job-name": "eidos"}},
             "spec": {"containers": [{"name": "eidos", "image": "nope"}]},
             "status": {"phase": "Pending", "containerStatuses": [{"name": "eidos", "state": {"waiting": {
                 "reason": "ImagePullBackOff", "message": "Back-off pulling image \"nope\""}}}]}}
        )  # fmt: skip

    task = asyncio.create_task(kubelet())
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        code, _, err = await eidos_cli(tmp_path, "snapshot", "--deploy-agent", "--timeout", "60s")
        assert code == 6, err
        assert 'the agent pod cannot start (ImagePullBackOff: Back-off pulling image "nope")' in err
        assert loop.time() - started < 30, "did not wait out the timeout"
        assert leftovers(cluster) == []
    finally:
        task.cancel()
