"""``eidos-cli query`` through the console script: the value at a selector, bare for shell
scripts or as YAML/JSON; the same answer from the local resolution and from a real eidosd
(``--server``, ``GET /v1/query``); exit 3 naming the longest existing path, exit 2 for a
malformed selector or bad criteria; every criteria mode of ``recipe`` works the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eidos_core import yaml
from tests.support import EidosdProcess

CLI = Path(sys.executable).parent / "eidos-cli"
H100 = ("--gpu", "h100", "--service", "eks", "--intent", "training")


@pytest.fixture(scope="module")
def server(module_eidosd: EidosdProcess) -> EidosdProcess:
    return module_eidosd


@pytest.fixture(scope="module")
def recipe() -> dict[str, object]:
    """The recipe document ``eidos-cli recipe`` gives for H100, to check answers against."""
    code, out, err = cli("recipe", *H100, "-t", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert isinstance(doc, dict)
    return doc


def cli(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    done = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd)
    return done.returncode, done.stdout, done.stderr


def gpu_operator_version(recipe: dict[str, object]) -> str:
    refs = recipe["componentRefs"]
    assert isinstance(refs, list)
    version = next(ref["version"] for ref in refs if ref["name"] == "gpu-operator")
    assert isinstance(version, str) and version
    return version


def test_a_scalar_is_bare_for_shell_scripts(recipe: dict[str, object]) -> None:
    version = gpu_operator_version(recipe)
    script = (
        'v=$("$0" query --selector componentRefs.gpu-operator.version --gpu h100 --service eks --intent training)'
        ' && printf "%s" "$v"'
    )
    done = subprocess.run(["bash", "-c", script, str(CLI)], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == version  # no quotes, no YAML, nothing but the version
    code, out, _ = cli("query", "--selector", "componentRefs.gpu-operator.version", *H100)
    assert (code, out) == (0, version + "\n")


@pytest.mark.parametrize(
    ("selector", "printed"),
    [
        ("componentRefs.gpu-operator.values.driver.enabled", "true\n"),  # booleans as YAML writes them
        ("componentRefs.gpu-operator.values.driver.upgradePolicy.drain.timeoutSeconds", "600\n"),
        ("constraints.K8s.server.version", ">= 1.29\n"),  # a constraint by its dotted name
        ("criteria.accelerator", "h100\n"),
    ],
)
def test_scalars(selector: str, printed: str) -> None:
    code, out, err = cli("query", "--selector", selector, *H100)
    assert (code, out) == (0, printed), err


def test_structures_as_yaml_or_json_and_scalars_as_json(recipe: dict[str, object]) -> None:
    order = recipe["deploymentOrder"]
    assert isinstance(order, list) and order
    code, out, err = cli("query", "--selector", "deploymentOrder", *H100)
    assert code == 0, err
    assert yaml.load(out) == order
    code, out, err = cli("query", "--selector", "deploymentOrder.0", *H100)  # a list item by index
    assert (code, out) == (0, f"{order[0]}\n"), err
    code, out, err = cli("query", "--selector", "componentRefs.gpu-operator.values.driver", *H100, "-t", "json")
    assert code == 0, err
    driver = json.loads(out)
    assert driver["enabled"] is True and isinstance(driver["version"], str)
    code, out, err = cli("query", "--selector", "componentRefs.gpu-operator.values.driver", *H100)
    assert code == 0 and yaml.load(out) == driver, err
    code, out, err = cli("query", "--selector", "componentRefs.gpu-operator.version", *H100, "-t", "json")
    assert (code, out) == (0, json.dumps(gpu_operator_version(recipe)) + "\n"), err


def test_every_component_field_equals_the_recipe_document(recipe: dict[str, object]) -> None:
    refs = recipe["componentRefs"]
    assert isinstance(refs, list) and refs
    for ref in refs:
        for field in ("version", "namespace", "type"):
            if isinstance(ref.get(field), str):
                code, out, err = cli("query", "--selector", f"componentRefs.{ref['name']}.{field}", *H100)
                assert (code, out) == (0, ref[field] + "\n"), f"{ref['name']}.{field}: {err}"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--selector", "componentRefs.gpu-operator.values.nope.deeper"],
            3,
            "nothing at 'componentRefs.gpu-operator.values.nope.deeper': 'componentRefs.gpu-operator.values' exists,"
            " 'nope' does not",
        ),
        (["--selector", "componentRefs.no-such-component"], 3, "'componentRefs' exists, 'no-such-component' does not"),
        (["--selector", "deploymentOrder.99"], 3, "'deploymentOrder' exists, '99' does not (a list of "),
        (["--selector", "componentRefs..version"], 2, "invalid selector 'componentRefs..version': segment 2 is empty"),
        (["--selector", ""], 2, "invalid selector '': it is empty"),
        ([], 2, "the following arguments are required: --selector"),
        (["--selector", "deploymentOrder", "--nodes", "-3"], 2, "--nodes -3: invalid nodes count: -3 (must be >= 0)"),
        (["--selector", "deploymentOrder", "-t", "table"], 2, "argument -t/--format: invalid choice: 'table'"),
        (["--selector", "deploymentOrder", "-o", "cm://ns/x"], 2, "query writes to a file or - (stdout)"),
        (["--selector", "deploymentOrder", "--server", "ftp://h"], 2, "argument --server: 'ftp://h'"),
    ],
)
def test_bad_selectors_and_inputs(args: list[str], code: int, message: str) -> None:
    got, out, err = cli("query", *args, *H100)
    assert (got, out) == (code, "")
    assert message in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err


def test_local_and_server_give_the_same_answers(server: EidosdProcess, tmp_path: Path) -> None:
    criteria = tmp_path / "criteria.yaml"
    criteria.write_text(
        "kind: recipeCriteria\napiVersion: eidos.nvidia.com/v1alpha1\nspec: {service: gke, gpu: a100}\n"
    )
    cases = [
        ("componentRefs.gpu-operator.version", H100),
        ("componentRefs.gpu-operator.values.driver", ("--gpu", "gb200", "--nodes", "4")),
        ("deploymentOrder", ("--service", "oke")),
        ("constraints.K8s.server.version", ()),  # no criteria: the base recipe in both
        ("criteria", ("-c", str(criteria), "--intent", "inference")),
        ("metadata.appliedOverlays", ("--gpu", "h100", "--os", "ubuntu")),
        # Set from the registry's valueReferences, not from any values file: both must have them.
        ("componentRefs.prometheus-adapter.values.prometheus.url", H100),
        ("componentRefs.nvidia-dra-driver-gpu.values.namespaceOverride", ("--gpu", "gb200", "--service", "eks")),
    ]
    for selector, criteria_args in cases:
        local = cli("query", "--selector", selector, *criteria_args, "-t", "json")
        remote = cli("query", "--selector", selector, *criteria_args, "-t", "json", "--server", server.url)
        assert local[0] == 0 and remote[0] == 0, local[2] + remote[2]
        assert json.loads(local[1]) == json.loads(remote[1]), selector
    # Bare scalars the same way too, and a missing path is exit 3 from both with the same words.
    for server_args in ((), ("--server", f"127.0.0.1:{server.port}/v1/query")):
        code, out, err = cli("query", "--selector", "criteria.service", *H100, *server_args)
        assert (code, out) == (0, "eks\n"), err
        code, out, err = cli("query", "--selector", "componentRefs.gpu-operator.nope", *H100, *server_args)
        assert (code, out) == (3, "")
        assert "nothing at 'componentRefs.gpu-operator.nope': 'componentRefs.gpu-operator' exists" in err


def test_snapshot_mode_output_file_and_layered_data(reference_dir: Path, tmp_path: Path) -> None:
    snap = str(reference_dir / "snapshots" / "h100.yaml")
    code, out, err = cli("query", "--selector", "criteria", "-s", snap, "--intent", "training", "-t", "json")
    assert code == 0, err
    assert json.loads(out) == {"service": "eks", "accelerator": "h100", "intent": "training", "os": "ubuntu"}
    # Snapshot mode refuses a dropped accelerator overlay as recipe does (exit 7), unless accepted.
    dropped = ["query", "--selector", "metadata.excludedAcceleratorOverlays", "-s", snap, "--gpu", "gb200"]
    data = ["--data", str(reference_dir / "recipe-data")]
    code, out, err = cli(*dropped, *data)
    assert (code, out) == (7, ""), err
    code, out, err = cli(
        *dropped, *data, "--accept-excluded-overlays", "-o", "dropped.json", "-t", "json", cwd=tmp_path
    )
    assert (code, out) == (0, ""), err
    assert json.loads((tmp_path / "dropped.json").read_text()) == ["gb200"]
    # --data: the answer comes from the layered recipe, as recipe --data resolves it.
    code, doc, err = cli("recipe", *H100, *data, "-t", "json")
    assert code == 0, err
    code, out, err = cli("query", "--selector", "deploymentOrder", *H100, *data, "-t", "json")
    assert code == 0 and json.loads(out) == json.loads(doc)["deploymentOrder"], err


def test_help_has_examples_and_the_criteria_flags_of_recipe() -> None:
    code, out, _ = cli("query", "--help")
    assert code == 0
    assert "examples:" in out and "version=$(eidos-cli query --selector componentRefs.gpu-operator.version" in out
    code, recipe_help, _ = cli("recipe", "--help")
    for flag in ("--service", "--gpu", "--intent", "--os", "--nodes", "--snapshot", "--criteria", "--data", "--server"):
        assert flag in out and flag in recipe_help, flag
