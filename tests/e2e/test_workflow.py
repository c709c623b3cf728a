"""The whole workflow through the real programs, as a platform engineer runs it:

agent Job → snapshot ConfigMap → ``eidos-cli recipe --snapshot cm://…`` → ``eidos-cli validate``
→ ``eidos-cli bundle`` → ``sha256sum -c``. Kubernetes is the emulated API server; every
program is its console script (or ``python -m``) in a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

from eidos_core import yaml
from tests.kube.emulator import KubeFixture
from tests.support import EIDOS_CLI

NS = "gpu-operator"
NODE = "gpu-node-1"


async def run(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(90):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_snapshot_to_bundle(kube: KubeFixture, reference_dir: Path, tmp_path: Path) -> None:
    assert EIDOS_CLI, "the eidos-cli console script is not installed"
    kube.emulator.set_version("v1.33.1-eks-4096a1c")
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube.put({"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}, "spec": {"providerID": "aws:///a/i-1"}})

    # 1. The agent, as its Job runs it, with nvidia-smi answering like an H100 node.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(f'#!/bin/sh\ncat "{reference_dir / "nvidia-smi" / "gpu.xml"}"\n')
    smi.chmod(smi.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "NODE_NAME": NODE, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    code, _, err = await run(tmp_path, sys.executable, "-m", "eidos_agent", "--output", f"cm://{NS}/eidos-snapshot",
                             env=env)  # fmt: skip
    assert code == 0, err

    # 2. A recipe from that snapshot (criteria detected; intent given), into a file.
    code, _, err = await run(
        tmp_path, EIDOS_CLI, "recipe", "--snapshot", f"cm://{NS}/eidos-snapshot", "--intent", "training",
        "-o", "recipe.yaml",
    )  # fmt: skip
    assert code == 0, err
    recipe = yaml.load((tmp_path / "recipe.yaml").read_bytes())
    assert recipe["criteria"]["accelerator"] == "h100" and recipe["criteria"]["service"] == "eks"

    # 3. The recipe's constraints checked against the same snapshot.
    code, out, err = await run(
        tmp_path, EIDOS_CLI, "validate", "-r", "recipe.yaml", "-s", f"cm://{NS}/eidos-snapshot", "-t", "json",
        "--fail-on-error=false",
    )  # fmt: skip
    assert code == 0, err
    report = yaml.load(out)
    statuses = {r["name"]: r["status"] for r in report["results"]}
    assert statuses, "the recipe has constraints to check"
    assert statuses.get("K8s.server.version") == "passed", report

    # 4. The deployment bundle, verified as CI would.
    code, out, err = await run(tmp_path, EIDOS_CLI, "bundle", "-r", "recipe.yaml", "-o", "bundle")
    assert code == 0, err
    bundle = tmp_path / "bundle"
    plan = yaml.load((bundle / "install-plan.yaml").read_bytes())
    assert {s["component"] for s in plan["steps"]} >= {"gpu-operator"}
    code, out, err = await run(bundle, "sha256sum", "-c", "checksums.txt")
    assert code == 0, out + err
