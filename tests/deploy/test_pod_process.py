"""eidosd started as its pod starts it (entry point, environment, working directory and, where
the machine allows, read-only root filesystem and uid 65532; see pod.py), checked over HTTP."""

from __future__ import annotations

import errno
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from eidosd.settings import load_settings
from tests.conftest import REPO
from tests.deploy.pod import (
    PodProcess,
    http,
    isolation,
    kubelet_configmap_dir,
    pod_environment,
    sandboxed,
    scratch_dir,
    start_pod,
)
from tests.deploy.support import K8S, container, env_of, find, find_all, pod_spec, render
from tests.support import wait_until

PROBE = """
import errno, json, os, sys
def attempt(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        os.unlink(path)
        return 0
    except OSError as exc:
        return exc.errno
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "cwd": os.getcwd(),
    "repo": attempt(sys.argv[1]), "cwd_write": attempt("probe"),
    "tmp": attempt(os.path.join(os.environ["TMPDIR"], "p")),
    "caps": [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0],
}))
"""


def deployment() -> dict[str, object]:
    return find(render(K8S / "base"), "Deployment", "eidosd")


def test_the_sandbox_is_what_the_pod_gets() -> None:
    """The isolation the eidosd tests rely on, checked from inside it."""
    emptydir = scratch_dir("eidos-probe-", 0o777)
    try:
        env = pod_environment(deployment(), {"/tmp": emptydir}, 0)
        out = subprocess.run(
            sandboxed([sys.executable, "-c", PROBE, str(REPO / ".write-probe")], [emptydir]),
            env=env, cwd="/", capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
    finally:
        shutil.rmtree(emptydir, ignore_errors=True)
    seen = json.loads(out.stdout)
    assert seen["tmp"] == 0, "the /tmp emptyDir stand-in must be writable"
    if isolation().startswith("read-only"):
        assert (seen["uid"], seen["gid"]) == (65532, 65532)
        assert seen["repo"] == errno.EROFS and seen["cwd_write"] == errno.EROFS
        assert int(seen["caps"], 16) == 0
    else:
        assert seen["uid"] != 0


def test_probes_and_a_recipe_over_http(eidosd_pod: PodProcess) -> None:
    status, body, _ = http(eidosd_pod.url + "/health")
    assert status == 200 and body["status"] == "healthy"
    status, body, _ = http(eidosd_pod.url + "/ready")
    assert status == 200 and body["status"] == "ready" and body["recipeSource"] == "embedded"
    status, body, headers = http(eidosd_pod.url + "/v1/recipe?service=eks&accelerator=h100&intent=training&os=ubuntu")
    assert status == 200, body
    assert body["kind"] == "recipeResult"
    assert body["criteria"] == {"service": "eks", "accelerator": "h100", "intent": "training", "os": "ubuntu"}
    assert "eks" in body["metadata"]["appliedOverlays"]
    assert headers["X-RateLimit-Limit"] == eidosd_pod.env["RATE_LIMIT"]  # the rate the Deployment configures
    status, body, _ = http(eidosd_pod.url + "/v1/recipe?os=windows")
    assert status == 400 and body["code"] == "INVALID_REQUEST"


def test_nothing_is_written_and_nothing_complains(eidosd_pod: PodProcess) -> None:
    assert http(eidosd_pod.url + "/v1/recipe?gpu=gb200")[0] == 200
    assert list(eidosd_pod.emptydir.iterdir()) == [], "eidosd wrote into its /tmp emptyDir"
    log = eidosd_pod.log()
    for trouble in ("Read-only file system", "Permission denied", "Traceback"):
        assert trouble not in log, log
    assert '"msg": "listening"' in log


def test_serves_recipe_data_from_the_overlay_configmap() -> None:
    objs = render(K8S / "overlays" / "with-recipe-data")
    (configmap,) = find_all(objs, "ConfigMap")
    parent = scratch_dir("eidos-volume-")
    pod: PodProcess | None = None
    try:
        data = kubelet_configmap_dir(configmap["data"], parent)
        pod = start_pod(find(objs, "Deployment", "eidosd"), data=data)
        assert pod.env["RECIPE_DATA_PATH"] == str(data)  # /data, mapped
        status, body, _ = http(pod.url + "/ready")
        assert status == 200 and body["recipeSource"].endswith(str(data))
        status, body, _ = http(pod.url + "/v1/recipe?intent=training")
        assert status == 200, body
        assert body["metadata"]["appliedOverlays"] == ["base", "site-training"]
        gpu_operator = next(c for c in body["componentRefs"] if c["name"] == "gpu-operator")
        assert gpu_operator["overrides"] == {"driver": {"enabled": False}}
    finally:
        if pod is not None:
            pod.stop(signal.SIGKILL)
            pod.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


def test_sigterm_drains_within_the_grace_period() -> None:
    objs = render(K8S / "base")
    deploy = find(objs, "Deployment", "eidosd")
    settings = load_settings(env_of(container(deploy, "eidosd")))
    grace = pod_spec(deploy)["terminationGracePeriodSeconds"]
    pod = start_pod(deploy)
    try:
        started = time.monotonic()
        pod.proc.send_signal(signal.SIGTERM)
        # readiness fails at once, so endpoints drop the pod ...
        wait_until(lambda: http(pod.url + "/ready")[0] == 503, "/ready 503 after SIGTERM", 2)
        # ... while requests are still answered for SHUTDOWN_DELAY
        assert http(pod.url + "/v1/recipe?service=gke")[0] == 200
        try:
            pod.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"eidosd still running {grace}s after SIGTERM (the kubelet would kill it)") from None
        elapsed = time.monotonic() - started
        assert pod.proc.returncode == 0, pod.log()
        assert settings.shutdown_delay <= elapsed < grace
    finally:
        pod.stop(signal.SIGKILL)
        pod.cleanup()


def test_entry_point_env_is_the_deployments(eidosd_pod: PodProcess) -> None:
    env = env_of(container(deployment(), "eidosd"))
    for name, value in env.items():
        if name != "PORT":
            assert eidosd_pod.env[name] == value, name
    assert Path(eidosd_pod.env["PATH"].split(":")[0]) == Path(sys.executable).parent
