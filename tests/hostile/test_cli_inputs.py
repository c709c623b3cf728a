"""Every eidos-cli input fed every hostile document: exit 2 with one clear line naming the
input — never exit 8, never a traceback, never a crash — and nothing written."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from eidos_cli.__main__ import main
from eidos_core import yaml
from tests.hostile.payloads import PAYLOADS
from tests.support import EIDOS_CLI

EMBEDDED = Path(__file__).resolve().parents[2] / "recipe_data"

SNAPSHOT = {
    "kind": "Snapshot",
    "apiVersion": "eidos.nvidia.com/v1alpha1",
    "metadata": {"source-node": "node-1"},
    "measurements": [
        {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": "v1.32.4"}}]},
        {"type": "OS", "subtypes": [{"subtype": "release", "data": {"ID": "ubuntu", "VERSION_ID": "24.04"}}]},
    ],
}

# Each input of the CLI: argv for a hostile file at ``bad`` (good companions in ``work``).
Command = Callable[[Path, Path], list[str]]
COMMANDS: dict[str, Command] = {
    "recipe --criteria": lambda bad, work: ["recipe", "-c", str(bad)],
    "recipe --snapshot": lambda bad, work: ["recipe", "-s", str(bad)],
    "validate --recipe": lambda bad, work: ["validate", "-r", str(bad), "-s", str(work / "snapshot.yaml")],
    "validate --snapshot": lambda bad, work: ["validate", "-r", str(work / "recipe.yaml"), "-s", str(bad)],
    "bundle --recipe": lambda bad, work: ["bundle", "-r", str(bad), "-o", str(work / "out")],
    "data validate": lambda bad, work: ["data", "validate", str(_data_dir(bad, work, full=True))],
    "data validate --layered": lambda bad, work: ["data", "validate", "--layered", str(_data_dir(bad, work))],
    "data coverage": lambda bad, work: ["data", "coverage", str(_data_dir(bad, work))],
    "recipe --data": lambda bad, work: ["recipe", "--service", "eks", "--data", str(_data_dir(bad, work))],
}


def _data_dir(bad: Path, work: Path, *, full: bool = False) -> Path:
    """A data directory whose ``eks`` overlay is the hostile document."""
    target = work / ("full" if full else "layer")
    if full:
        shutil.copytree(EMBEDDED, target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    (target / "overlays").mkdir(parents=True, exist_ok=True)
    if not full:  # a layer names its registry
        shutil.copyfile(EMBEDDED / "registry.yaml", target / "registry.yaml")
    shutil.copyfile(bad, target / "overlays" / "eks.yaml")
    return target


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-cli")
    (root / "snapshot.yaml").write_text(yaml.dump(SNAPSHOT))
    (root / "recipe.yaml").write_text(
        yaml.dump({"kind": "recipeResult", "apiVersion": "eidos.nvidia.com/v1alpha1", "componentRefs": []})
    )
    return root


def run_main(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    _, err = capsys.readouterr()
    return code, err


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_hostile_file_is_bad_input(
    command: str, payload: str, work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / f"{payload}.yaml"
    bad.write_bytes(PAYLOADS[payload])
    case = tmp_path / "case"
    case.mkdir()
    for name in ("snapshot.yaml", "recipe.yaml"):
        shutil.copyfile(work / name, case / name)
    code, err = run_main(capsys, COMMANDS[command](bad, case))
    assert code == 2, err
    assert "Traceback" not in err
    assert "eks.yaml" in err or bad.name in err, err
    assert not (case / "out").exists()  # a refused bundle writes nothing


@pytest.mark.slow
@pytest.mark.parametrize("payload", ["deep-flow", "deep-json", "huge-int", "alias-bomb"])
def test_the_process_exits_2_on_stdin(payload: str, tmp_path: Path) -> None:
    """As users run it: a separate process, the document on stdin (a crash would be 139)."""
    assert EIDOS_CLI
    proc = subprocess.run(
        [EIDOS_CLI, "recipe", "-c", "-"], input=PAYLOADS[payload], capture_output=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.decode().strip().splitlines()) == 1


@pytest.mark.slow
def test_endless_stdin_is_refused_at_the_read_limit(tmp_path: Path) -> None:
    assert EIDOS_CLI
    with subprocess.Popen(["yes", "a: b"], stdout=subprocess.PIPE) as producer:
        proc = subprocess.run(
            [EIDOS_CLI, "recipe", "-c", "-"], stdin=producer.stdout, capture_output=True, timeout=120, cwd=tmp_path
        )
        producer.kill()
    assert proc.returncode == 2, proc.stderr
    assert b"standard input is longer than" in proc.stderr
