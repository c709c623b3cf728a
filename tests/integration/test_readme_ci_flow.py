"""The README's CI flow, run as written: recipe → bundle --sign → push → verify → pull → verify →
install (dry run), against a real OCI registry on 127.0.0.1 with keys made by the real openssl.

The only edits to the README's lines: ``--plain-http`` on each line that names ``oci://`` (the
test registry serves HTTP) and the real install after ``./deploy.sh --dry-run`` is left out (no
cluster here). Then the pushed artifact is verified against another key, and the pulled bundle
is changed after signing with its checksums recomputed to hide it; both are refused. (Layer and
manifest damage in the registry itself is tests/integration/test_bundle_oci.py's.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.registry import Registry

BIN = Path(sys.executable).parent
README = REPO / "README.md"


def ci_flow_lines() -> list[str]:
    """The README's block that signs, pushes and verifies, adapted as the module docstring says."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    [block] = [b for b in blocks if "--sign eidos.key" in b and "bundle verify" in b]
    lines = []
    for line in block.splitlines():
        command = line.split("  #")[0].rstrip()
        if not command:
            continue
        if "oci://" in command or "pushed.txt)" in command:
            command += " --plain-http"
        lines.append(command.replace(" && ./deploy.sh --dry-run && ./deploy.sh", " && ./deploy.sh --dry-run"))
    return lines


def run_flow(lines: list[str], cwd: Path, registry: Registry) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin", "REGISTRY": registry.host}
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_readme_ci_flow_runs_as_written(oci_registry: Registry, tmp_path: Path) -> None:
    lines = ci_flow_lines()
    assert any(line.startswith("openssl genpkey") for line in lines)
    assert any("bundle -r recipe.yaml --sign eidos.key -o oci://" in line for line in lines)
    assert lines[-1].endswith("./deploy.sh --dry-run")
    done = run_flow(lines, tmp_path, oci_registry)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    pinned = (tmp_path / "pushed.txt").read_text().splitlines()[0]
    assert re.fullmatch(rf"oci://{re.escape(oci_registry.host)}/gpu/stack@sha256:[0-9a-f]{{64}}", pinned)
    # Both verifications said so, and the dry run printed the installs in order.
    assert done.stdout.count("verified: ") == 2, done.stdout
    assert "helm upgrade --install gpu-operator" in done.stdout
    assert (tmp_path / "bundle" / "provenance.intoto.jsonl").is_file()

    # Another key: the pushed artifact is intact but not signed by it.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", "other.key"], cwd=tmp_path, check=True)
    subprocess.run(["openssl", "pkey", "-in", "other.key", "-pubout", "-out", "other.pub"], cwd=tmp_path, check=True)
    other = subprocess.run(
        [BIN / "eidos-cli", "bundle", "verify", pinned, "--key", "other.pub", "--plain-http"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert other.returncode == 7, other.stdout + other.stderr
    assert other.stdout.startswith("tampered: ") and "signature does not verify with other.pub" in other.stdout

    # The pulled bundle changed after signing, checksums recomputed to hide it: checksums.txt
    # holds, the signed statement does not.
    bundle = tmp_path / "bundle"
    values = bundle / "gpu-operator" / "values.yaml"
    values.write_text(values.read_text() + "# changed after signing\n")
    sums = subprocess.run(
        ["bash", "-c", "grep -v '  gpu-operator/values.yaml$' checksums.txt; sha256sum gpu-operator/values.yaml"],
        cwd=bundle, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (bundle / "checksums.txt").write_text(sums)
    local = subprocess.run(
        [BIN / "eidos-cli", "bundle", "verify", "bundle", "--key", "eidos.pub"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert local.returncode == 7 and "gpu-operator/values.yaml" in local.stdout, local.stdout
