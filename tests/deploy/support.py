"""Helpers for the deployment tests: render Kustomize directories with the real kubectl, find
objects in the result, read the Containerfile, and judge pod specs against Pod Security
``restricted``."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO

K8S = REPO / "k8s"
COMPONENTS = K8S / "components"
CONTAINERFILE = REPO / "Containerfile"
DASHBOARD = REPO / "docs" / "monitoring" / "grafana-dashboard.json"

Obj = dict[str, Any]


# -- kubectl kustomize --------------------------------------------------------------------------


def kubectl() -> str:
    """The kubectl binary; its absence is a failure with a clear message, never a skip."""
    found = shutil.which("kubectl") or ("/usr/bin/kubectl" if os.access("/usr/bin/kubectl", os.X_OK) else None)
    if found is None:
        pytest.fail(
            "kubectl is not installed (needed for `kubectl kustomize`); install kubectl >= 1.30 "
            "(it bundles kustomize v5), e.g. from https://kubernetes.io/docs/tasks/tools/",
            pytrace=False,
        )
    return found


def _offline_env() -> dict[str, str]:
    """kubectl's environment: no cluster at all (it may otherwise probe one, e.g. a test's emulator)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env["KUBECONFIG"] = os.devnull
    return env


@functools.cache
def _render_cached(directory: str) -> str:
    proc = subprocess.run(
        [kubectl(), "kustomize", directory], capture_output=True, text=True, timeout=60, check=False, env=_offline_env()
    )
    if proc.returncode != 0:
        pytest.fail(f"kubectl kustomize {directory} failed:\n{proc.stderr}", pytrace=False)
    return proc.stdout


def render(directory: Path | str) -> list[Obj]:
    """The objects ``kubectl kustomize DIR`` prints (fresh copies: callers may modify them)."""
    text = _render_cached(str(directory))
    docs = [d for d in YAML(typ="safe", pure=True).load_all(text) if d is not None]
    assert all(isinstance(d, dict) for d in docs), f"{directory}: a rendered document is not a mapping"
    return docs


def kustomize_version() -> str:
    out = subprocess.run(
        [kubectl(), "version", "--client", "-o", "json"], capture_output=True, text=True, check=True, env=_offline_env()
    )
    info: dict[str, Any] = json.loads(out.stdout)
    return str(info.get("kustomizeVersion", ""))


def kustomization_dirs() -> list[Path]:
    """Every directory under k8s/ whose kustomization is a Kustomization (not a Component)."""
    found = []
    for path in sorted(K8S.rglob("kustomization.yaml")):
        doc = YAML(typ="safe", pure=True).load(path.read_text())
        if doc.get("kind", "Kustomization") == "Kustomization":
            found.append(path.parent)
    return found


def component_names() -> list[str]:
    return sorted(p.parent.name for p in COMPONENTS.glob("*/kustomization.yaml"))


def render_with_components(workdir: Path, components: Sequence[str]) -> list[Obj]:
    """k8s/base plus the named components, through a kustomization written in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(K8S / "base", workdir)],
        "components": [os.path.relpath(COMPONENTS / name, workdir) for name in components],
    }
    (workdir / "kustomization.yaml").write_text(json.dumps(doc))  # JSON is YAML
    return render(workdir)


def find(objs: Iterable[Obj], kind: str, name: str | None = None) -> Obj:
    matches = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def find_all(objs: Iterable[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def container(workload: Obj, name: str) -> Obj:
    matches: list[Obj] = [c for c in pod_spec(workload)["containers"] if c["name"] == name]
    assert len(matches) == 1, f"no container {name!r} in {workload['kind']} {workload['metadata']['name']}"
    return matches[0]


def env_of(ctr: Obj) -> dict[str, str]:
    """A container's literal environment (valueFrom entries are not expected for eidosd)."""
    env: dict[str, str] = {}
    for item in ctr.get("env", []):
        assert "valueFrom" not in item, f"env {item['name']} is not a literal value"
        assert item["name"] not in env, f"env {item['name']} is set twice"
        env[item["name"]] = item.get("value", "")
    return env


def port_number(ctr: Obj, port: int | str) -> int:
    """Resolve a probe or Service target port (a number or a container port name)."""
    if isinstance(port, int):
        return port
    numbers = [p["containerPort"] for p in ctr.get("ports", []) if p.get("name") == port]
    assert len(numbers) == 1, f"container {ctr['name']} has no port named {port!r}"
    return int(numbers[0])


# -- Pod Security Standards, "restricted" profile ----------------------------------------------

_RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def restricted_violations(spec: Mapping[str, Any]) -> list[str]:
    """What in a pod spec the Pod Security ``restricted`` profile (v1.30+) refuses; empty = admitted."""
    problems: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            problems.append(f"{key} is true")
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= _RESTRICTED_VOLUMES:
            problems.append(f"volume {volume['name']} is {sorted(kinds - _RESTRICTED_VOLUMES)}")
    containers = [*spec.get("initContainers", []), *spec.get("containers", [])]
    for ctr in containers:
        sc = ctr.get("securityContext") or {}
        where = f"container {ctr['name']}"
        if sc.get("privileged"):
            problems.append(f"{where}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        caps = sc.get("capabilities") or {}
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{where}: capabilities do not drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{where}: adds capabilities {caps['add']}")
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            problems.append(f"{where}: runAsNonRoot is not true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            problems.append(f"{where}: runs as uid 0")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{where}: seccompProfile is {seccomp!r}")
        if any(p.get("hostPort") for p in ctr.get("ports", [])):
            problems.append(f"{where}: uses a hostPort")
    return problems


# -- Containerfile ------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str  # FROM argument, build args substituted
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)

    def all(self, instruction: str) -> list[str]:
        return [args for ins, args in self.instructions if ins == instruction]

    def last(self, instruction: str) -> str | None:
        found = self.all(instruction)
        return found[-1] if found else None


@dataclass
class Containerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise AssertionError(f"the Containerfile has no stage {name!r}")

    def chain(self, name: str) -> list[Stage]:
        """The stage and the stages it is built FROM, nearest first."""
        out = [self.stage(name)]
        names = {s.name for s in self.stages}
        while out[-1].base in names:
            out.append(self.stage(out[-1].base))
        return out

    def inherited(self, name: str, instruction: str) -> str | None:
        for stage in self.chain(name):
            value = stage.last(instruction)
            if value is not None:
                return value
        return None

    def env(self, name: str) -> dict[str, str]:
        """ENV of a stage including what it inherits from parent stages in this file."""
        env: dict[str, str] = {}
        for stage in reversed(self.chain(name)):
            for args in stage.all("ENV"):
                env.update(parse_key_values(args))
        return env


def _logical_lines(text: str) -> Iterator[str]:
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        yield current
        current = ""
    assert not current, "the Containerfile ends inside a continued line"


def _substitute(value: str, args: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in args, f"${name} is not a declared ARG"
        return args[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, value)


def parse_key_values(args: str) -> dict[str, str]:
    """``KEY=value KEY2="a b"`` (ENV and LABEL syntax)."""
    out: dict[str, str] = {}
    for match in re.finditer(r'([\w.\-]+)=("(?:[^"\\]|\\.)*"|\S+)', args):
        value = match.group(2)
        out[match.group(1)] = json.loads(value) if value.startswith('"') else value
    return out


def parse_containerfile(path: Path = CONTAINERFILE) -> Containerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text()):
        instruction, _, args = line.partition(" ")
        instruction, args = instruction.upper(), args.strip()
        if instruction == "ARG" and not stages:
            key, _, default = args.partition("=")
            global_args[key] = default.strip('"')
            continue
        if instruction == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)\s+AS\s+(\S+)", args, re.IGNORECASE)
            assert match, f"every FROM must name its stage: FROM {args}"
            stages.append(Stage(match.group(2), _substitute(match.group(1), global_args)))
            continue
        assert stages, f"{instruction} before the first FROM"
        stages[-1].instructions.append((instruction, args))
    return Containerfile(global_args, stages)


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form ENTRYPOINT/CMD; shell form is refused."""
    try:
        value = json.loads(args)
    except ValueError:
        raise AssertionError(f"not exec form (a shell would be needed): {args}") from None
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value
