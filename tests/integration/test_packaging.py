"""Each distribution installs on its own into a fresh virtualenv (real pip, real wheels).

pip builds a local project in its directory (setuptools leaves ``build/`` and ``*.egg-info``
there), so the builds run in a copy of the checkout, and the checkout is checked for new ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


# What a build needs is everything tracked; these are local state or build output.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".tox", "__pycache__", ".*_cache", ".hypothesis", ".schemathesis", "build", "dist", "*.egg-info"
)


def build_output(root: Path) -> set[Path]:
    """The ``build/`` and ``*.egg-info`` directories under ``root`` (hidden directories not searched).
    Editable installs of the developer virtualenv leave ``*.egg-info`` too: compare, do not expect none."""
    found: set[Path] = set()
    for parent, dirs, _ in os.walk(root):
        for name in list(dirs):
            if name == "build" or name.endswith(".egg-info"):
                found.add(Path(parent, name).relative_to(root))
                dirs.remove(name)
            elif name.startswith(".") or name == "__pycache__":
                dirs.remove(name)
    return found


def run(*cmd: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=True)
    return root


def installed(py: Path) -> set[str]:
    out = run(py, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check")
    return {p["name"].lower().replace("_", "-") for p in json.loads(out)}


def test_agent_and_cli_install_alone(fresh_venv: Path, tmp_path: Path) -> None:
    before = build_output(REPO)
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=NOT_SOURCES, symlinks=True)
    work = tmp_path / "work"
    work.mkdir()
    py = fresh_venv / "bin" / "python"
    pip = (py, "-m", "pip", "install", "-q", "--disable-pip-version-check")
    run(*pip, src, src / "eidos_agent")
    names = installed(py)
    assert {"eidos-core", "eidos-agent", "kubernetes-asyncio", "ruamel.yaml"} <= names
    assert not names & {"aiohttp-apigami", "prometheus-client", "python-json-logger", "eidosd"}
    assert "usage: python -m eidos_agent" in run(py, "-m", "eidos_agent", "--help", cwd=work)

    run(*pip, src / "eidos_cli")
    cli = fresh_venv / "bin" / "eidos-cli"
    assert "recipe" in run(cli, "--help", cwd=work)
    # The embedded data travels inside the wheel: resolve a recipe far from the checkout.
    out = run(cli, "recipe", "--service", "gke", "--os", "cos", "--format", "json", cwd=work)
    doc = json.loads(out)
    assert doc["kind"] == "recipeResult"
    assert "gke-cos" in doc["metadata"]["appliedOverlays"]
    assert build_output(REPO) - before == set(), "the install wrote build output into the checkout"


def test_cli_start_does_not_import_the_server_stack() -> None:
    code = "import sys, eidos_cli.__main__; print(sorted(m for m in sys.modules if m.startswith('aiohttp')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "[]"


def test_every_core_package_is_listed_in_setup_cfg() -> None:
    # setup.cfg lists eidos-core's packages by hand (recipe_data is mapped in); a new
    # subpackage left out installs fine in editable mode and breaks every real install.
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    listed = {line.strip() for line in cfg["options"]["packages"].splitlines() if line.strip()}
    present = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "eidos_core").rglob("__init__.py")}
    assert present <= listed, f"add to setup.cfg [options] packages: {sorted(present - listed)}"
