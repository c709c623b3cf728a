"""The Containerfile, read as a build would read it: stages and targets, pinned bases, the user,
exec-form entry points that exist in the distributions each image installs, and the build
context it copies."""

from __future__ import annotations

import configparser
import fnmatch
import importlib.util
import re
from pathlib import Path

import pytest

from eidos_cli.agent.manifests import AgentOptions, job_object
from eidos_core import __version__
from eidosd.settings import Settings
from tests.conftest import REPO
from tests.deploy.support import Containerfile, exec_form, parse_containerfile, parse_key_values

TARGETS = ("eidosd", "eidos-agent", "eidos-cli")
VENV_BIN = "/opt/eidos/bin"


@pytest.fixture(scope="module")
def cf() -> Containerfile:
    return parse_containerfile()


def distributions() -> dict[str, Path]:
    """distribution name -> its setup.cfg, for the four distributions in this repository."""
    found = {}
    for path in [REPO / "setup.cfg", *REPO.glob("*/setup.cfg")]:
        parser = configparser.ConfigParser()
        parser.read(path)
        found[parser["metadata"]["name"]] = path
    return found


def console_scripts(setup_cfg: Path) -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(setup_cfg)
    raw = parser.get("options.entry_points", "console_scripts", fallback="")
    return {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in raw.splitlines() if line.strip())}


def installed_distribution(cf: Containerfile, target: str) -> str:
    """The distribution the target's virtual environment is installed from (COPY --from=venv-…)."""
    (copy,) = [c for c in cf.stage(target).all("COPY") if c.startswith("--from=")]
    source_stage = copy.split()[0].removeprefix("--from=")
    (run,) = cf.stage(source_stage).all("RUN")
    match = re.search(r"install --no-index --find-links /wheels (\S+)\s*$", run)
    assert match, f"{source_stage} does not install one distribution from the wheels: {run}"
    venv = VENV_BIN.removesuffix("/bin")
    assert copy.split()[1:] == [venv, venv], f"{target}: {copy}"
    assert f"python -m venv --without-pip {venv} " in run, "the runtime venv carries no pip"
    return match.group(1)


def test_stages_and_targets(cf: Containerfile) -> None:
    names = [s.name for s in cf.stages]
    assert len(names) == len(set(names)), "stage names repeat"
    for target in TARGETS:
        assert target in names
        assert cf.chain(target)[-1].base.startswith("docker.io/library/python:")
    assert names[0] == "builder"
    # wheels for all four distributions are built once, in the builder
    (build,) = cf.stage("builder").all("RUN")
    assert re.search(r"pip wheel --wheel-dir /wheels \. \./eidos_agent \./eidosd \./eidos_cli$", build), build


def test_base_images_are_pinned_slim_python(cf: Containerfile) -> None:
    stage_names = {s.name for s in cf.stages}
    bases = {s.base for s in cf.stages if s.base not in stage_names}
    assert len(bases) == 1, f"builder and runtime must share one base (venvs link to its python): {bases}"
    (image,) = bases
    name, _, tag = image.rpartition(":")
    assert name and tag and tag != "latest", f"{image}: the base needs an explicit tag"
    assert re.fullmatch(r"3\.1[1-9]\.\d+-slim(-\w+)?", tag), f"{image}: a pinned x.y.z slim Python tag"
    assert "latest" not in image


def test_images_run_as_65532_without_a_shell_or_healthcheck(cf: Containerfile) -> None:
    assert not any(s.all("HEALTHCHECK") for s in cf.stages), "Kubernetes probes replace HEALTHCHECK"
    for target in TARGETS:
        assert cf.inherited(target, "USER") == "65532:65532"
        exec_form(cf.inherited(target, "ENTRYPOINT") or "")
        cmd = cf.inherited(target, "CMD")
        if cmd is not None:
            exec_form(cmd)
        # nothing runs in the final stages: they only copy the virtual environment
        assert not any(s.all("RUN") for s in cf.chain(target))


def test_runtime_environment_suits_a_read_only_root(cf: Containerfile) -> None:
    for target in TARGETS:
        env = cf.env(target)
        assert env["PYTHONDONTWRITEBYTECODE"] == "1"
        assert env["PYTHONUNBUFFERED"] == "1"
        # the only writable place in the pod is the /tmp emptyDir
        assert env["HOME"] == "/tmp" and env["TMPDIR"] == "/tmp"
        assert env["PATH"].split(":")[0] == VENV_BIN
        assert cf.inherited(target, "WORKDIR") == "/"


def test_entry_points_exist_in_the_installed_distribution(cf: Containerfile) -> None:
    dists = distributions()
    for target in TARGETS:
        dist = installed_distribution(cf, target)
        assert dist == target, f"{target} installs {dist}"
        entry = exec_form(cf.inherited(target, "ENTRYPOINT") or "")
        if entry[0].startswith(VENV_BIN + "/"):
            script = entry[0].removeprefix(VENV_BIN + "/")
            scripts = console_scripts(dists[dist])
            assert script in scripts, f"{target}: {script} is not a console script of {dist}"
            module, _, func = scripts[script].partition(":")
            spec = importlib.util.find_spec(module)
            assert spec is not None and func
        else:
            assert entry[:2] == ["python", "-m"], entry
            package = entry[2]
            assert importlib.util.find_spec(f"{package}.__main__") is not None, f"no {package}.__main__"
            assert (dists[dist].parent / "src" / package / "__main__.py").is_file(), f"{package} is not in {dist}"


def test_agent_job_runs_the_agent_image_entry_point(cf: Containerfile) -> None:
    job = job_object(AgentOptions(output="cm://gpu-operator/eidos-snapshot"))
    (ctr,) = job["spec"]["template"]["spec"]["containers"]
    assert ctr["command"] == exec_form(cf.inherited("eidos-agent", "ENTRYPOINT") or "")
    assert ctr["image"].rpartition(":")[0].endswith("/eidos-agent")


def test_oci_labels(cf: Containerfile) -> None:
    assert cf.global_args["VERSION"] == __version__
    for target in TARGETS:
        labels: dict[str, str] = {}
        for stage in reversed(cf.chain(target)):
            for args in stage.all("LABEL"):
                labels.update(parse_key_values(args))
        for key in ("title", "description", "version", "source", "licenses", "vendor"):
            assert labels.get(f"org.opencontainers.image.{key}"), f"{target}: no org.opencontainers.image.{key}"
        assert labels["org.opencontainers.image.title"] == target
        assert labels["org.opencontainers.image.version"] == "${VERSION}"  # the build arg, __version__ by default
    assert cf.stage("eidosd").last("EXPOSE") == str(Settings().port)


def test_build_context(cf: Containerfile) -> None:
    ignore = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [p for p in ignore if p and not p.startswith("#")]

    def ignored(rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, p.removeprefix("**/")) or fnmatch.fnmatch(rel, p) for p in patterns) or any(
            fnmatch.fnmatch(part, p.removeprefix("**/")) for part in rel.split("/") for p in patterns
        )

    for copy in cf.stage("builder").all("COPY"):
        *sources, _ = copy.split()
        for source in sources:
            rel = source.rstrip("/")
            assert (REPO / rel).exists(), f"COPY {source}: not in the repository"
            assert not ignored(rel), f"COPY {source}: excluded by .dockerignore"
    for heavy in (".venv", "build", ".git", "tests", "eidos_cli/build", "x/__pycache__"):
        assert ignored(heavy), f"{heavy} would be sent to the build"
