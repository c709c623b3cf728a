"""``-t table`` through the real ``eidos-cli`` console script: ``validate`` prints one aligned row
a constraint and the run's duration in milliseconds; ``snapshot`` one aligned row a reading,
long values wrapped under their column; no line ends in spaces."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

CLI = Path(sys.executable).with_name("eidos-cli")

SNAPSHOT = {
    "kind": "Snapshot",
    "apiVersion": "eidos.nvidia.com/v1alpha1",
    "measurements": [
        {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": "v1.32.4-eks-3025e55"}}]},
        {"type": "OS", "subtypes": [{"subtype": "release", "data": {"ID": "ubuntu", "VERSION_ID": "24.04"}}]},
    ],
}


def recipe(*constraints: tuple[str, str]) -> dict[str, object]:
    return {
        "kind": "recipeResult",
        "apiVersion": "eidos.nvidia.com/v1alpha1",
        "criteria": {"service": "eks"},
        "constraints": [{"name": n, "value": v} for n, v in constraints],
        "componentRefs": [],
        "deploymentOrder": [],
    }


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EIDOS_")}
    return subprocess.run([str(CLI), *argv], capture_output=True, text=True, timeout=120, env=env, check=False)


def write(path: Path, doc: object) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def test_validate_table(tmp_path: Path) -> None:
    snapshot = write(tmp_path / "snap.json", SNAPSHOT)
    failing = write(
        tmp_path / "recipe.json",
        recipe(("K8s.server.version", ">= 1.33"), ("OS.release.ID", "ubuntu"), ("GPU.smi.gpu.model", "H100")),
    )
    proc = cli("validate", "-r", failing, "-s", snapshot, "-t", "table")
    assert proc.returncode == 7, proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        "eidos-cli validate: error: validation failed: 1 constraint(s) did not pass"
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == f"recipe: {failing}  snapshot: {snapshot}"
    header = lines[2]
    assert header.split() == ["CONSTRAINT", "EXPECTED", "ACTUAL", "RESULT", "MESSAGE"]
    assert lines[3].split() == ["-" * len(title) for title in header.split()]
    starts = [header.index(title) for title in header.split()]
    rows = {line.split()[0]: line for line in lines[4:7]}
    assert set(rows) == {"K8s.server.version", "OS.release.ID", "GPU.smi.gpu.model"}
    for row in rows.values():  # each cell starts under its title
        assert all(row[at] != " " and row[at - 2 : at] == "  " for at in starts[1:]), row
    assert rows["K8s.server.version"][starts[2] :].startswith("v1.32.4-eks-3025e55  failed")
    assert rows["GPU.smi.gpu.model"][starts[2] :].startswith("-")  # not in the snapshot
    assert rows["GPU.smi.gpu.model"][starts[3] :].startswith("skipped")
    assert re.fullmatch(r"fail: 1 passed, 1 failed, 1 skipped of 3 in \d+(\.\d+)?ms", lines[-1]), lines[-1]
    assert all(line == line.rstrip() for line in lines)


def test_validate_table_is_the_default_and_yaml_keeps_go_durations(tmp_path: Path) -> None:
    snapshot = write(tmp_path / "snap.json", SNAPSHOT)
    passing = write(tmp_path / "recipe.json", recipe(("OS.release.ID", "ubuntu")))
    table = cli("validate", "-r", passing, "-s", snapshot)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[2].split() == ["CONSTRAINT", "EXPECTED", "ACTUAL", "RESULT"]
    assert re.fullmatch(r"pass: 1 passed, 0 failed, 0 skipped of 1 in \d+(\.\d+)?ms", table.stdout.splitlines()[-1])
    as_yaml = cli("validate", "-r", passing, "-s", snapshot, "-t", "yaml")
    assert re.search(r"^  duration: \S+(ns|µs|ms|s)$", as_yaml.stdout, re.MULTILINE), as_yaml.stdout


def test_snapshot_table(tmp_path: Path) -> None:
    host = tmp_path / "host"
    (host / "etc").mkdir(parents=True)
    long_name = "Ubuntu 24.04 LTS " + " ".join(f"word{i}" for i in range(30))
    (host / "etc" / "os-release").write_text(f'ID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="{long_name}"\n')
    proc = cli("snapshot", "--collectors", "os", "--host-root", str(host), "--node-name", "n1", "-t", "table")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "source-node: n1" in lines[0]
    at = next(i for i, line in enumerate(lines) if line.startswith("TYPE"))
    assert lines[at].split() == ["TYPE", "SUBTYPE", "KEY", "VALUE"]
    value_at = lines[at].index("VALUE")
    rows = {tuple(line.split()[:3]): line for line in lines[at + 2 :] if not line.startswith(" ")}
    assert rows[("OS", "release", "ID")][value_at:] == "ubuntu"
    assert rows[("OS", "release", "VERSION_ID")][value_at:] == "24.04"
    # The long value wraps: its lines continue under VALUE and hold the whole text.
    first = lines.index(rows[("OS", "release", "PRETTY_NAME")])
    continued = [first]
    while first + len(continued) < len(lines) and lines[first + len(continued)].startswith(" " * value_at):
        continued.append(first + len(continued))
    assert len(continued) > 1
    assert " ".join(lines[i][value_at:] for i in continued) == long_name
    assert all(len(lines[i]) <= value_at + 64 for i in continued)
    assert all(line == line.rstrip() for line in lines)
