"""Start eidosd the way its pod does, as far as a test machine allows.

* Entry point: the Containerfile's ``eidosd`` ENTRYPOINT, with the image's virtual environment
  (``/opt/eidos/bin``) mapped to this interpreter's (the same console script).
* Environment: the image's ENV, then the rendered Deployment's container env on top (as the
  kubelet does). Paths that are volume mounts in the pod (``/tmp``, ``/data``) are mapped to
  directories here, and PORT to a free port (so tests can run side by side); nothing else
  changes.
* Working directory: the image's WORKDIR (``/``).
* Isolation, when the test runs as root with util-linux (as on the CI machine): a private mount
  namespace in which the root filesystem is remounted read-only, only the emptyDir stand-in is
  writable, and the process runs as uid/gid 65532 with no capabilities and no_new_privs: what
  ``readOnlyRootFilesystem``, ``runAsUser`` and ``drop: [ALL]`` give the container. Without
  root the process runs as the (already non-root) test user and the root filesystem stays
  writable; :func:`isolation` says which applies and the tests warn when it is the weaker one.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.deploy.support import Obj, container, env_of, exec_form, parse_containerfile
from tests.support import EidosdProcess, free_port, request

UID = GID = 65532
VENV_BIN = "/opt/eidos/bin"
HERE_BIN = str(Path(sys.executable).parent)

# Run by /bin/sh inside the new mount namespace: keep the given directories writable (bind
# mounts of their own), make the root mount read-only, drop to the pod's user.
_SANDBOX = f"""
set -e
while [ "$1" != "--" ]; do mount --bind "$1" "$1"; shift; done
shift
mount -o remount,bind,ro /
exec setpriv --reuid={UID} --regid={GID} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
"""


def isolation() -> str:
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("setpriv"):
        return "read-only root filesystem, uid 65532, no capabilities"
    return f"uid {os.geteuid()} (not root: no mount namespace), root filesystem as it is"


def sandboxed(argv: Sequence[str], writable: Sequence[Path]) -> list[str]:
    """``argv`` wrapped so that it runs as the pod would (see the module docstring)."""
    if isolation().startswith("read-only"):
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _SANDBOX, "sandbox",
                *map(str, writable), "--", *argv]  # fmt: skip
    warnings.warn(f"eidosd runs with weaker isolation here: {isolation()}", stacklevel=2)
    return list(argv)


def scratch_dir(prefix: str, mode: int = 0o755) -> Path:
    """A directory the sandboxed user can reach (pytest's tmp_path sits under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(mode)
    return path


def http(url: str, timeout: float = 5.0) -> tuple[int, Any, Mapping[str, str]]:
    """GET url; (status, body as JSON if it is JSON else text, headers)."""
    status, headers, raw = request(url, timeout=timeout)
    text = raw.decode()
    try:
        return status, json.loads(text), headers
    except ValueError:
        return status, text, headers


def pod_environment(deployment: Obj, mounts: Mapping[str, Path], port: int) -> dict[str, str]:
    """Image ENV + container env, with mount paths mapped to local directories."""
    image_env = parse_containerfile().env("eidosd")
    env = dict(image_env)
    env.update(env_of(container(deployment, "eidosd")))

    def mapped(value: str) -> str:
        for mount_path, local in mounts.items():
            if value == mount_path or value.startswith(mount_path + "/"):
                return str(local) + value[len(mount_path) :]
        return value

    env = {k: mapped(v) for k, v in env.items()}
    # PATH points at this checkout's venv, which is no pod path (and may itself live under /tmp).
    env["PATH"] = image_env["PATH"].replace(VENV_BIN, HERE_BIN)
    env["PORT"] = str(port)
    return env


class PodProcess(EidosdProcess):
    """eidosd as its pod runs it; ``env`` is what it was given, ``emptydir`` the stand-in for its
    emptyDir volume. :meth:`cleanup` kills it and removes the scratch directories."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], port: int, emptydir: Path, logs: Path) -> None:
        # The log (the container log) sits in a directory of its own, outside the sandbox's reach.
        cwd = parse_containerfile().inherited("eidosd", "WORKDIR") or "/"
        super().__init__(argv, env=env, port=port, log_path=logs / "eidosd.log", cwd=cwd)
        self.emptydir = emptydir
        self.scratch = [emptydir, logs]

    def cleanup(self) -> None:
        self.kill()
        for path in self.scratch:
            shutil.rmtree(path, ignore_errors=True)


def start_pod(deployment: Obj, data: Path | None = None) -> PodProcess:
    """Run eidosd from ``deployment`` (a rendered Deployment) until /ready answers 200."""
    entry = exec_form(parse_containerfile().inherited("eidosd", "ENTRYPOINT") or "")
    argv = [entry[0].replace(VENV_BIN, HERE_BIN, 1), *entry[1:]]
    assert Path(argv[0]).is_file(), f"the image's entry point {entry[0]} has no counterpart {argv[0]}"
    emptydir = scratch_dir("eidos-emptydir-", 0o777)  # emptyDir volumes are world-writable
    logs = scratch_dir("eidos-log-", 0o700)
    mounts = {m["mountPath"]: m for m in container(deployment, "eidosd").get("volumeMounts", [])}
    local: dict[str, Path] = {}
    for path, mount in mounts.items():
        if mount["name"] == "tmp":
            local[path] = emptydir
        elif data is not None and mount["name"] == "recipe-data":
            local[path] = data
        else:
            raise AssertionError(f"no local stand-in for the volume mounted at {path}")
    port = free_port()
    env = pod_environment(deployment, local, port)
    pod = PodProcess(sandboxed(argv, [emptydir]), env=env, port=port, emptydir=emptydir, logs=logs)
    try:
        pod.wait_ready()
    except BaseException:
        pod.cleanup()
        raise
    return pod


def kubelet_configmap_dir(data: Mapping[str, str], parent: Path) -> Path:
    """A ConfigMap volume laid out as the kubelet does: files behind ``..data`` symlinks."""
    root = parent / "data"
    stamp = root / "..2025_01_01_00_00_00.000000001"
    stamp.mkdir(parents=True)
    for key, text in data.items():
        (stamp / key).write_text(text)
    (root / "..data").symlink_to(stamp.name)
    for key in data:
        (root / key).symlink_to(f"..data/{key}")
    for path in (root, stamp):
        path.chmod(0o755)
    return root
