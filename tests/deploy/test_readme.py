"""The README's "Deploying on Kubernetes" section: its commands name paths that exist, its
overlays render as written, and its helper commands produce what the manifests expect."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from eidos_cli.agent.manifests import AgentOptions
from eidos_core import __version__
from tests.conftest import REPO
from tests.deploy.support import K8S, container, env_of, find, parse_containerfile, pod_spec, render
from tests.deploy.validation import validate_objects

CLI = Path(sys.executable).parent / "eidos-cli"


def section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("\n## Deploying on Kubernetes\n")
    end = text.index("\n## Benchmarks\n")
    assert start < end, "the deployment section must come right before Benchmarks"
    return text[start:end]


def shell_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", section(), re.S)


def commands() -> list[str]:
    return [line.strip() for block in shell_blocks() for line in block.splitlines() if line.strip()]


def heredocs() -> dict[str, str]:
    """``cat > PATH <<'YAML' … YAML`` blocks: path -> content."""
    found = {}
    for block in shell_blocks():
        for match in re.finditer(r"cat > (\S+) <<'YAML'\n(.*?)\nYAML\n", block, re.S):
            found[match.group(1)] = match.group(2) + "\n"
    return found


def test_section_sits_right_before_benchmarks() -> None:
    text = (REPO / "README.md").read_text()
    assert text.index("## Deploying on Kubernetes") < text.index("## Benchmarks")
    headings = re.findall(r"^## .*$", text, re.M)
    assert headings[headings.index("## Deploying on Kubernetes") + 1] == "## Benchmarks"


def test_kustomize_paths_exist_and_render() -> None:
    paths = set()
    for cmd in commands():
        match = re.search(r"kubectl (?:apply|delete|diff) -k (\S+)|kubectl kustomize (\S+)", cmd)
        if match:
            paths.add(match.group(1) or match.group(2))
    repo_paths = {p for p in paths if p.startswith("k8s/")}
    assert {"k8s/base", "k8s/agent", "k8s/agent/host", "k8s/overlays/with-monitoring"} <= repo_paths
    for path in sorted(repo_paths):
        assert render(REPO / path), path
    assert paths - repo_paths <= set(heredocs()) | {p.rsplit("/", 1)[0] for p in heredocs()}


def test_overlays_written_by_the_readme_render(tmp_path: Path) -> None:
    shutil.copytree(K8S, tmp_path / "k8s")
    docs = heredocs()
    assert set(docs) == {"deploy/eidos/kustomization.yaml", "deploy/eidos-data/kustomization.yaml"}
    for path, text in docs.items():
        (tmp_path / path).parent.mkdir(parents=True)
        (tmp_path / path).write_text(text)
    site = render(tmp_path / "deploy" / "eidos")
    validate_objects(site)
    ctr = container(find(site, "Deployment", "eidosd"), "eidosd")
    base_env = env_of(container(find(render(K8S / "base"), "Deployment", "eidosd"), "eidosd"))
    assert env_of(ctr) == {**base_env, "RATE_LIMIT": "200"}  # one variable changed, none lost
    assert ctr["image"] == f"registry.example.com/eidos/eidosd:{__version__}"
    assert {o["kind"] for o in site} >= {"ServiceMonitor", "PrometheusRule"}
    data = render(tmp_path / "deploy" / "eidos-data")
    assert env_of(container(find(data, "Deployment", "eidosd"), "eidosd"))["RECIPE_DATA_PATH"] == "/data"


def test_configmap_helper_makes_the_configmap_the_manifests_use() -> None:
    (cmd,) = [c for c in commands() if c.startswith(".venv/bin/eidos-cli data configmap")]
    args = cmd.split()[1:]
    assert args[:2] == ["data", "configmap"] and args[-2] == ">"
    args = ["recipe_data" if a == "my-recipe-data" else a for a in args[:-2]]  # the README copies recipe_data
    out = subprocess.run(
        [str(CLI), *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=True, env=dict(os.environ)
    )
    configmap = YAML(typ="safe", pure=True).load(out.stdout)
    validate_objects([configmap])
    assert len(out.stdout.encode()) < 1024 * 1024
    assert all(re.fullmatch(r"[-._a-zA-Z0-9]+", key) for key in configmap["data"])
    # the name and namespace both components expect
    watching = find(render(K8S / "overlays" / "with-configmap-watch"), "Deployment", "eidosd")
    watched = env_of(container(watching, "eidosd"))["RECIPE_CONFIGMAP"]
    assert watched == f"{configmap['metadata']['namespace']}/{configmap['metadata']['name']}"
    mounted = render(K8S / "overlays" / "with-recipe-data")
    names = [v["configMap"]["name"] for v in pod_spec(find(mounted, "Deployment"))["volumes"] if "configMap" in v]
    assert names and names[0].startswith(configmap["metadata"]["name"] + "-")  # plus the generator's hash


def test_images_and_targets_agree() -> None:
    targets = {s.name for s in parse_containerfile().stages}
    built = {}
    for cmd in commands():
        match = re.fullmatch(r"docker build -f Containerfile --target (\S+)\s+-t (\S+) \.", cmd)
        if match:
            built[match.group(1)] = match.group(2)
    assert set(built) == {"eidosd", "eidos-agent", "eidos-cli"} <= targets
    assert all(image.endswith(f"/{target}:{__version__}") for target, image in built.items())
    (snapshot,) = [c for c in commands() if "snapshot --deploy-agent" in c]
    image = re.search(r"--image (\S+)", snapshot)
    assert image is None or image.group(1) == AgentOptions().image
    assert built["eidos-agent"] == AgentOptions().image
    # What `eidos-cli snapshot --deploy-agent` runs by default is the image the Containerfile builds.
    from eidos_cli.__main__ import build_parser

    args = build_parser().parse_args(["snapshot", "--deploy-agent"])
    assert os.environ.get("EIDOS_IMAGE") or args.image == built["eidos-agent"]


@pytest.mark.parametrize("path", ["docs/monitoring/grafana-dashboard.json", "docs/monitoring/README.md"])
def test_referenced_files_exist(path: str) -> None:
    assert path in section()
    assert (REPO / path).is_file()
