"""``eidos-cli diff`` as a console-script process: two snapshots (the reference's two, when
../shared is here, against a difference computed here independently), two recipes made by
``eidos-cli recipe``, ``-`` for stdin, ``cm://`` against the emulated API server, the formats,
--ignore, --fail-on-drift and bad input."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from eidos_cli.__main__ import main
from eidos_core import yaml
from eidos_core.data.files import EMBEDDED_PACKAGE
from tests.hostile.payloads import PAYLOADS
from tests.kube.emulator import KubeFixture
from tests.registry import Registry
from tests.support import EIDOS_CLI

NS = "gpu-operator"

OLD: dict[str, Any] = {
    "kind": "Snapshot",
    "apiVersion": "eidos.nvidia.com/v1alpha1",
    "metadata": {"timestamp": "2026-01-02T18:01:13Z", "version": "0.8.12", "source": "node-1"},
    "measurements": [
        {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": "v1.30.14", "platform": "amd64"}}]},
        {"type": "GPU", "subtypes": [{"subtype": "smi", "data": {"driver": "570.133.20", "gpu-count": 8}}]},
    ],
}
NEW: dict[str, Any] = {
    "kind": "Snapshot",
    "apiVersion": "eidos.nvidia.com/v1alpha1",
    "metadata": {"timestamp": "2026-02-01T08:00:00Z", "version": "0.8.12", "source": "node-1"},
    "measurements": [
        {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": "v1.32.9", "platform": "amd64"}}]},
        {"type": "GPU", "subtypes": [{"subtype": "smi", "data": {"driver": "570.133.20", "mig": True}}]},
    ],
}
OLD_NEW_CHANGES = [
    {"path": "GPU/smi/gpu-count", "change": "removed", "old": 8},
    {"path": "GPU/smi/mig", "change": "added", "new": True},
    {"path": "K8s/server/version", "change": "changed", "old": "v1.30.14", "new": "v1.32.9"},
]


def cli(*args: str, cwd: Path, stdin: bytes | None = None) -> tuple[int, str, str]:
    assert EIDOS_CLI, "the eidos-cli console script is not installed"
    proc = subprocess.run([EIDOS_CLI, *args], cwd=cwd, input=stdin, capture_output=True, timeout=60, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


async def cli_async(*args: str, cwd: Path) -> tuple[int, str, str]:
    """For tests whose emulated API server runs on this event loop: the loop must keep running."""
    assert EIDOS_CLI
    proc = await asyncio.create_subprocess_exec(
        EIDOS_CLI, *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def snaps(tmp_path: Path) -> tuple[str, str]:
    old, new = tmp_path / "old.yaml", tmp_path / "new.json"
    old.write_text(yaml.dump(OLD))
    new.write_text(json.dumps(NEW))
    return str(old), str(new)


def table_rows(out: str) -> list[list[str]]:
    """The table's rows below its header, cut into cells at runs of two or more blanks."""
    lines = out.splitlines()
    assert lines[0].split() == ["CHANGE", "PATH", "OLD", "NEW"], out
    rows = []
    for line in lines[1:]:
        if not line:
            break
        rows.append(re.split(r" {2,}", line))
    return rows


# ---------------------------------------------------------------- the two reference snapshots


def reading_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def readings(path: Path) -> dict[str, Any]:
    """type/subtype/key → reading, written out here rather than with eidos_core.diff."""
    doc = yaml.load(path.read_bytes())
    flat = {}
    for measurement in doc["measurements"]:
        for sub in measurement["subtypes"]:
            for key, value in sub["data"].items():
                flat[f"{measurement['type']}/{sub['subtype']}/{key}"] = value
    flat |= {f"metadata/{k}": v for k, v in doc["metadata"].items() if k not in ("timestamp", "version")}
    return flat


def expected_changes(old: dict[str, Any], new: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    found = set()
    for path in old.keys() | new.keys():
        if path not in new:
            found.add((path, "removed", reading_text(old[path]), ""))
        elif path not in old:
            found.add((path, "added", "", reading_text(new[path])))
        elif reading_text(old[path]) != reading_text(new[path]):
            found.add((path, "changed", reading_text(old[path]), reading_text(new[path])))
    return found


def side(change: dict[str, Any], key: str) -> str:
    return reading_text(change[key]) if key in change else ""


def test_the_reference_snapshots_differ_by_exactly_their_differences(reference_dir: Path, tmp_path: Path) -> None:
    h100, gb200 = reference_dir / "snapshots" / "h100.yaml", reference_dir / "snapshots" / "gb200.yaml"
    code, out, err = cli("diff", str(h100), str(gb200), "-t", "json", cwd=tmp_path)
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["kind"], doc["subject"], doc["oldSource"], doc["newSource"]) == (
        "Diff",
        "Snapshot",
        str(h100),
        str(gb200),
    )
    got = {
        (
            c["path"],
            c["change"],
            reading_text(c["old"]) if "old" in c else "",
            reading_text(c["new"]) if "new" in c else "",
        )
        for c in doc["changes"]
    }
    expected = expected_changes(readings(h100), readings(gb200))
    assert got == expected
    assert len(doc["changes"]) == len(got)  # no path listed twice
    assert ("GPU/smi/gpu.model", "changed", "NVIDIA H100 80GB HBM3", "NVIDIA GB200") in got
    summary = doc["summary"]
    assert summary["total"] == len(expected) == summary["added"] + summary["removed"] + summary["changed"]
    assert summary["ignored"] == 1  # the timestamps differ; both were written by agent 0.8.12


def test_a_reference_snapshot_with_itself_reports_none_and_exits_0(reference_dir: Path, tmp_path: Path) -> None:
    h100 = str(reference_dir / "snapshots" / "h100.yaml")
    code, out, err = cli("diff", h100, h100, "--fail-on-drift", cwd=tmp_path)
    assert (code, out) == (0, "no differences\n"), err


def test_different_reference_snapshots_exit_7_with_fail_on_drift(reference_dir: Path, tmp_path: Path) -> None:
    h100, gb200 = (str(reference_dir / "snapshots" / f"{n}.yaml") for n in ("h100", "gb200"))
    code, out, err = cli("diff", h100, gb200, "--fail-on-drift", cwd=tmp_path)
    assert code == 7
    assert "GPU/smi/gpu.model" in out  # the table is written before the verdict
    assert f"{h100} and {gb200} differ:" in err


# ---------------------------------------------------------------- snapshots, formats, flags


def test_json_yaml_and_table_agree(snaps: tuple[str, str], tmp_path: Path) -> None:
    old, new = snaps
    code, out, err = cli("diff", old, new, "-t", "json", cwd=tmp_path)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["changes"] == OLD_NEW_CHANGES
    assert doc["ignore"] == ["metadata/timestamp", "metadata/version"]
    assert doc["summary"] == {"added": 1, "removed": 1, "changed": 1, "total": 3, "ignored": 1}

    code, out, _ = cli("diff", old, new, "-t", "yaml", cwd=tmp_path)
    assert code == 0 and yaml.load(out) == doc

    code, out, _ = cli("diff", old, new, cwd=tmp_path)  # table is the default
    assert code == 0
    cells: dict[str, Any] = {"true": True, "8": 8}  # the table's text of the JSON values
    assert [
        {"path": path, "change": change} | {k: cells.get(v, v) for k, v in (("old", old_), ("new", new_)) if v != "-"}
        for change, path, old_, new_ in table_rows(out)
    ] == doc["changes"]
    assert out.endswith("\n\n1 changed, 1 added, 1 removed (1 ignored: metadata/timestamp, metadata/version)\n")


def test_ignore_patterns_and_default_ignores(snaps: tuple[str, str], tmp_path: Path) -> None:
    old, new = snaps
    code, out, err = cli("diff", old, new, "-t", "json", "--ignore", "GPU/*", "--ignore", "*.version", cwd=tmp_path)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["changes"] == [] and doc["summary"]["ignored"] == 4
    assert doc["ignore"] == ["metadata/timestamp", "metadata/version", "GPU/*", "*.version"]

    code, out, _ = cli("diff", old, new, "-t", "json", "--default-ignores=false", cwd=tmp_path)
    doc = json.loads(out)
    assert doc["changes"][0] == {
        "path": "metadata/timestamp", "change": "changed", "old": "2026-01-02T18:01:13Z", "new": "2026-02-01T08:00:00Z",
    }  # fmt: skip
    assert doc["ignore"] == [] and doc["summary"]["ignored"] == 0

    code, _, err = cli("diff", old, new, "--ignore", "", cwd=tmp_path)
    assert code == 2 and "--ignore: empty pattern" in err
    # An unclosed '[' would be a literal to fnmatch and match nothing: refused, as --help says.
    code, out, err = cli("diff", old, new, "--ignore", "[", cwd=tmp_path)
    assert (code, out) == (2, "") and "--ignore '[': '[' at position 1 is not closed by ']'" in err
    code, out, err = cli("diff", "--help", cwd=tmp_path)
    assert "an empty --ignore pattern or one with an unclosed '['" in out


def test_fail_on_drift(snaps: tuple[str, str], tmp_path: Path) -> None:
    old, new = snaps
    assert cli("diff", old, new, "--fail-on-drift", cwd=tmp_path)[0] == 7
    assert cli("diff", old, new, "--fail-on-drift=false", cwd=tmp_path)[0] == 0
    assert cli("diff", old, new, cwd=tmp_path)[0] == 0  # without it, exit 0 either way
    assert cli("diff", old, old, "--fail-on-drift", cwd=tmp_path)[0] == 0
    # Only ignored differences: no drift.
    assert cli("diff", old, new, "--fail-on-drift", "--ignore", "GPU", "--ignore", "K8s", cwd=tmp_path)[0] == 0


def test_one_input_from_stdin(snaps: tuple[str, str], tmp_path: Path) -> None:
    old, new = snaps
    code, out, err = cli("diff", old, "-", "-t", "json", cwd=tmp_path, stdin=Path(new).read_bytes())
    assert code == 0, err
    doc = json.loads(out)
    assert doc["newSource"] == "-" and doc["changes"] == OLD_NEW_CHANGES

    code, out, err = cli("diff", "-", "-", cwd=tmp_path, stdin=b"")
    assert code == 2 and "A and B cannot both read stdin (-)" in err and out == ""


def test_output_to_a_file(snaps: tuple[str, str], tmp_path: Path) -> None:
    old, new = snaps
    target = tmp_path / "drift.json"
    code, out, err = cli("diff", old, new, "-t", "json", "-o", str(target), cwd=tmp_path)
    assert code == 0 and out == "", err
    assert json.loads(target.read_text())["changes"] == OLD_NEW_CHANGES

    code, out, err = cli("diff", old, new, "-o", "cm://ns/drift", cwd=tmp_path)
    assert code == 2 and "invalid --output 'cm://ns/drift': diff writes to a file or - (stdout)" in err


@pytest.mark.parametrize(
    ("b", "code", "message"),
    [
        ("recipe.yaml", 2, "cannot compare a Snapshot ("),
        ("report.yaml", 2, "kind 'ValidationResult' cannot be compared (allowed: Snapshot, recipeResult)"),
        ("absent.yaml", 3, "absent.yaml"),
        ("bad.yaml", 2, "measurements"),
    ],
)
def test_bad_inputs(snaps: tuple[str, str], tmp_path: Path, b: str, code: int, message: str) -> None:
    (tmp_path / "recipe.yaml").write_text("kind: recipeResult\ncomponentRefs: []\n")
    (tmp_path / "report.yaml").write_text("kind: ValidationResult\nresults: []\n")
    (tmp_path / "bad.yaml").write_text("kind: Snapshot\nmeasurements: 5\n")
    got, out, err = cli("diff", snaps[0], b, "--fail-on-drift", cwd=tmp_path)
    assert (got, out) == (code, ""), err
    assert message in err and len(err.strip().splitlines()) == 1


def test_help_has_examples_and_describes_each_output(tmp_path: Path) -> None:
    code, out, _ = cli("diff", "--help", cwd=tmp_path)
    assert code == 0
    assert "eidos-cli diff before.yaml after.yaml" in out
    for line in ("table  one aligned row per change", "yaml   a kind: Diff document", "json   the same document"):
        assert line in out
    flags = ("--ignore PATTERN", "--fail-on-drift", "--default-ignores", "-t {yaml,json,table}", "-o FILE", "--values",
             "--data DIR|cm://NS/NAME", "--old-data", "--new-data")  # fmt: skip
    assert "componentRefs/<name>/values/<dotted.values.path>" in out
    for flag in flags:
        assert flag in out
    code, out, _ = cli("--help", cwd=tmp_path)
    assert code == 0 and re.search(r"^\s+diff\s+compare two snapshots", out, re.M)


# ---------------------------------------------------------------- recipes


def test_two_recipes_list_component_version_and_values_differences(tmp_path: Path) -> None:
    files = {}
    for gpu in ("h100", "gb200"):
        target = tmp_path / f"{gpu}.yaml"
        code, _, err = cli("recipe", "--service", "eks", "--gpu", gpu, "--intent", "training", "-o", str(target),
                           cwd=tmp_path)  # fmt: skip
        assert code == 0, err
        files[gpu] = yaml.load(target.read_bytes())
    code, out, err = cli("diff", "h100.yaml", "gb200.yaml", "-t", "json", cwd=tmp_path)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["subject"] == "recipeResult"
    changes = {c["path"]: c for c in doc["changes"]}

    # Components added or removed, and versions changed, from the two documents directly.
    old = {r["name"]: r for r in files["h100"]["componentRefs"]}
    new = {r["name"]: r for r in files["gb200"]["componentRefs"]}
    expected = {f"componentRefs/{n}": ("added", None, new[n].get("version")) for n in new.keys() - old.keys()}
    expected |= {f"componentRefs/{n}": ("removed", old[n].get("version"), None) for n in old.keys() - new.keys()}
    expected |= {
        f"componentRefs/{n}/version": ("changed", old[n]["version"], new[n]["version"])
        for n in old.keys() & new.keys()
        if old[n].get("version") != new[n].get("version")
    }
    got = {
        path: (c["change"], c.get("old"), c.get("new"))
        for path, c in changes.items()
        if re.fullmatch(r"componentRefs/[^/]+(/version)?", path)
    }
    assert got == expected
    assert "componentRefs/nvidia-dra-driver-gpu" in got  # gb200 brings the DRA driver

    assert changes["criteria/accelerator"] == {"path": "criteria/accelerator", "change": "changed",
                                               "old": "h100", "new": "gb200"}  # fmt: skip
    # Helm values: merged (values files, then overrides) as `query` answers them. gb200 adds the
    # kernel module parameters; both use values-eks.yaml, so hostPaths are the same.
    merged = {gpu: query_values(tmp_path, "--service", "eks", "--gpu", gpu, "--intent", "training")
              for gpu in ("h100", "gb200")}  # fmt: skip
    assert {p: c for p, c in changes.items() if "/values/" in p} == {
        f"componentRefs/{name}/values/{path}": {"path": f"componentRefs/{name}/values/{path}", "change": kind}
        | ({"old": old_} if kind != "added" else {})
        | ({"new": new_} if kind != "removed" else {})
        for name, path, kind, old_, new_ in expected_values(merged["h100"], merged["gb200"])
    }
    assert changes["componentRefs/gpu-operator/values/driver.kernelModuleConfig.name"]["new"] == "kernel-module-params"
    assert "componentRefs/gpu-operator/values/hostPaths.driverInstallDir" not in changes
    assert not [p for p in changes if "/overrides/" in p]  # overrides are in the merged values
    # --values=false: the documents only, the overrides as written.
    code, out, err = cli("diff", "h100.yaml", "gb200.yaml", "-t", "json", "--values=false", cwd=tmp_path)
    assert code == 0, err
    documents_only = {c["path"]: c for c in json.loads(out)["changes"]}
    assert documents_only["componentRefs/gpu-operator/overrides/driver.kernelModuleConfig.name"] == {
        "path": "componentRefs/gpu-operator/overrides/driver.kernelModuleConfig.name",
        "change": "added",
        "new": new["gpu-operator"]["overrides"]["driver"]["kernelModuleConfig"]["name"],
    }
    assert not [p for p in documents_only if "/values/" in p]
    order = changes["deploymentOrder"]
    assert (order["old"], order["new"]) == (files["h100"]["deploymentOrder"], files["gb200"]["deploymentOrder"])
    constraints = {p for p in changes if p.startswith("constraints/")}
    assert "constraints/K8s.server.version" in constraints

    code, out, err = cli("diff", "h100.yaml", "h100.yaml", "--fail-on-drift", cwd=tmp_path)
    assert (code, out) == (0, "no differences\n"), err


def query_values(cwd: Path, *criteria: str) -> dict[str, Any]:
    """componentRefs.<name>.values of every component, from `eidos-cli query` (one call each)."""
    code, out, err = cli("query", "--selector", "deploymentOrder", *criteria, "-t", "json", cwd=cwd)
    assert code == 0, err
    found = {}
    for name in json.loads(out):
        code, out, err = cli("query", "--selector", f"componentRefs.{name}.values", *criteria, "-t", "json", cwd=cwd)
        assert code == 0, err
        found[name] = json.loads(out)
    return found


def leaves(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted paths of the leaves, written out here rather than with eidos_core.diff (the keys of
    the embedded values have no dots in them)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        flat |= leaves(value, path) if isinstance(value, dict) and value else {path: value}
    return flat


def expected_values(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, str, Any, Any]]:
    """(component, path, change, old, new) for the components in both."""
    found = []
    for name in old.keys() & new.keys():
        a, b = leaves(old[name]), leaves(new[name])
        for path in a.keys() | b.keys():
            if path not in b:
                found.append((name, path, "removed", a[path], None))
            elif path not in a:
                found.append((name, path, "added", None, b[path]))
            elif a[path] != b[path] or type(a[path]) is not type(b[path]):
                found.append((name, path, "changed", a[path], b[path]))
    return found


def make_recipe(cwd: Path, name: str, *criteria: str) -> str:
    code, _, err = cli("recipe", *criteria, "-o", name, cwd=cwd)
    assert code == 0, err
    return name


def test_a_values_file_that_differs_between_two_recipes_shows_its_values(tmp_path: Path) -> None:
    """eks and gke name different values files (values-eks.yaml, values-gke.yaml): the rows are
    what the two files (and overrides) merge to, as `query` answers."""
    eks = ("--service", "eks", "--gpu", "h100", "--intent", "training")
    gke = ("--service", "gke", "--gpu", "h100", "--intent", "training")
    a, b = make_recipe(tmp_path, "eks.yaml", *eks), make_recipe(tmp_path, "gke.yaml", *gke)
    code, out, err = cli("diff", a, b, "-t", "json", cwd=tmp_path)
    assert code == 0, err
    changes = {c["path"]: c for c in json.loads(out)["changes"]}
    old, new = query_values(tmp_path, *eks), query_values(tmp_path, *gke)
    assert changes["componentRefs/gpu-operator/values/hostPaths.driverInstallDir"] == {
        "path": "componentRefs/gpu-operator/values/hostPaths.driverInstallDir",
        "change": "changed",
        "old": old["gpu-operator"]["hostPaths"]["driverInstallDir"],
        "new": new["gpu-operator"]["hostPaths"]["driverInstallDir"],
    }
    assert changes["componentRefs/gpu-operator/valuesFile"]["new"] == "components/gpu-operator/values-gke.yaml"
    got = {(p.split("/")[1], p.split("/", 3)[3], c["change"]) for p, c in changes.items() if "/values/" in p}
    assert got == {(name, path, kind) for name, path, kind, _, _ in expected_values(old, new)}


@pytest.fixture
def new_data(tmp_path: Path) -> Path:
    """The embedded recipe data copied, with one value of gpu-operator's values.yaml changed."""
    data = tmp_path / "data-v2"
    shutil.copytree(str(resources.files(EMBEDDED_PACKAGE)), data, ignore=shutil.ignore_patterns("__*"))
    values = data / "components" / "gpu-operator" / "values.yaml"
    text = values.read_text()
    assert text.count("maxParallelUpgrades: 1\n") == 1
    values.write_text(text.replace("maxParallelUpgrades: 1\n", "maxParallelUpgrades: 2\n"))
    return data


def test_the_same_recipe_under_two_data_sets_shows_the_one_value_changed(tmp_path: Path, new_data: Path) -> None:
    recipe = make_recipe(tmp_path, "r.yaml", "--service", "eks", "--gpu", "h100", "--intent", "training")
    path = "componentRefs/gpu-operator/values/driver.upgradePolicy.maxParallelUpgrades"
    code, out, err = cli("diff", recipe, recipe, "--new-data", str(new_data), "-t", "json", cwd=tmp_path)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["changes"] == [{"path": path, "change": "changed", "old": 1, "new": 2}]
    assert doc["summary"] == {"added": 0, "removed": 0, "changed": 1, "total": 1, "ignored": 0}
    # The other way round, and --data for both sides: the same data, no change.
    code, out, err = cli("diff", recipe, recipe, "--old-data", str(new_data), "-t", "json", cwd=tmp_path)
    assert code == 0 and json.loads(out)["changes"] == [{"path": path, "change": "changed", "old": 2, "new": 1}], err
    code, out, err = cli("diff", recipe, recipe, "--data", str(new_data), "--fail-on-drift", cwd=tmp_path)
    assert (code, out) == (0, "no differences\n"), err
    # --old-data/--new-data win over --data for their side.
    code, out, err = cli("diff", recipe, recipe, "--data", str(new_data), "--old-data", "/nonexistent-data",
                         "--values", cwd=tmp_path)  # fmt: skip
    assert code == 3 and "/nonexistent-data" in err
    # The recipe documents alone cannot see it.
    code, out, err = cli("diff", recipe, recipe, "--values=false", cwd=tmp_path)
    assert (code, out) == (0, "no differences\n"), err


def test_a_values_file_missing_from_the_data_is_exit_3_naming_it_and_the_side(tmp_path: Path) -> None:
    recipe = yaml.load((tmp_path / make_recipe(tmp_path, "r.yaml", "--service", "eks", "--gpu", "h100")).read_bytes())
    gone = "components/gpu-operator/values-retired.yaml"
    for ref in recipe["componentRefs"]:
        if ref["name"] == "gpu-operator":
            ref["valuesFile"] = gone
    (tmp_path / "old.yaml").write_text(yaml.dump(recipe))
    code, out, err = cli("diff", "old.yaml", "r.yaml", cwd=tmp_path)
    assert (code, out) == (3, ""), err
    assert f"A (old.yaml) with the embedded recipe data: values file {gone} of component gpu-operator" in err
    assert "--values=false" in err and len(err.strip().splitlines()) == 1
    # The documents alone compare: the file name is what changed.
    code, out, err = cli("diff", "old.yaml", "r.yaml", "--values=false", "-t", "json", cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)["changes"] == [
        {"path": "componentRefs/gpu-operator/valuesFile", "change": "changed", "old": gone,
         "new": "components/gpu-operator/values-eks.yaml"},
    ]  # fmt: skip


def test_recipe_data_flags_that_would_change_nothing_are_refused(snaps: tuple[str, str], tmp_path: Path) -> None:
    old, new = snaps
    code, out, err = cli("diff", old, new, "--data", str(tmp_path), cwd=tmp_path)
    assert (code, out) == (2, "") and "--data: recipe data applies to two recipes; A and B are snapshots" in err
    code, out, err = cli("diff", old, new, "--old-data", "x", "--new-data", "y", "--values=false", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert "--old-data, --new-data: recipe data is for comparing values; drop it or --values=false" in err


# ---------------------------------------------------------------- cm://


async def test_one_input_from_a_configmap(kube: KubeFixture, snaps: tuple[str, str], tmp_path: Path) -> None:
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "eidos-snapshot", "namespace": NS},
              "data": {"snapshot.yaml": yaml.dump(OLD), "format": "yaml"}})  # fmt: skip
    old, new = snaps
    code, out, err = await cli_async("diff", f"cm://{NS}/eidos-snapshot", new, "-t", "json", cwd=tmp_path)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["oldSource"] == f"cm://{NS}/eidos-snapshot" and doc["changes"] == OLD_NEW_CHANGES

    code, out, err = await cli_async("diff", old, f"cm://{NS}/eidos-snapshot", "--fail-on-drift", cwd=tmp_path)
    assert (code, out) == (0, "no differences\n"), err

    code, _, err = await cli_async("diff", f"cm://{NS}/absent", new, cwd=tmp_path)
    assert code == 3 and f"{NS}/absent" in err


# ---------------------------------------------------------------- hostile documents


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_hostile_document_on_either_side_is_bad_input(
    payload: str, snaps: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / f"{payload}.yaml"
    bad.write_bytes(PAYLOADS[payload])
    for argv in (["diff", str(bad), snaps[0]], ["diff", snaps[0], str(bad)]):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert (code, out) == (2, ""), err
        assert bad.name in err and "Traceback" not in err


def test_a_bundle_in_a_registry_against_a_new_recipe(tmp_path: Path, oci_registry: Registry) -> None:
    """``oci://``: the recipe a pushed bundle was made from (what is deployed) against a new one,
    the same changes as between the two recipe files."""
    recipes = {}
    for gpu in ("h100", "gb200"):
        target = tmp_path / f"{gpu}.yaml"
        code, _, err = cli("recipe", "--service", "eks", "--gpu", gpu, "--intent", "training", "-o", str(target),
                           cwd=tmp_path)  # fmt: skip
        assert code == 0, err
        recipes[gpu] = str(target)
    ref = oci_registry.ref("diff/stack", "v1")
    code, pinned, err = cli("bundle", "-r", recipes["h100"], "-o", ref, "--plain-http", cwd=tmp_path)
    assert code == 0, err
    code, out, err = cli("diff", pinned.strip(), recipes["gb200"], "-t", "json", "--plain-http", cwd=tmp_path)
    assert code == 0, err
    from_registry = json.loads(out)
    code, out, err = cli("diff", recipes["h100"], recipes["gb200"], "-t", "json", cwd=tmp_path)
    assert code == 0, err
    from_files = json.loads(out)
    assert from_registry["subject"] == "recipeResult"
    assert from_registry["changes"] == from_files["changes"] and from_registry["changes"]
    assert any(c["path"] == "componentRefs/nvidia-dra-driver-gpu" for c in from_registry["changes"])
    # Nothing pushed under that tag: not found, exit 3, naming the reference.
    missing = oci_registry.ref("diff/stack", "nope")
    code, _, err = cli("diff", missing, recipes["gb200"], "--plain-http", cwd=tmp_path)
    assert code == 3 and "nope" in err, err
