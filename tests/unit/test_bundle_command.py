"""``eidos-cli bundle`` through its own argparse registration: flags, errors, stdout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from eidos_cli.bundle.writer import RECORD_FILE
from eidos_cli.commands import bundle
from eidos_core import yaml
from eidos_core.data.load import load_store
from eidos_core.errors import EidosError, InvalidRequestError, NotFoundError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.result import recipe_to_document
from eidos_core.sources.embedded import embedded_store
from tests.conftest import mini_files


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eidos-cli")
    bundle.register(p.add_subparsers())
    return p


def run(*argv: str) -> int:
    args = parser().parse_args(["bundle", *argv])
    code: int = args.run(args)
    return code


@pytest.fixture
def recipe_file(tmp_path: Path) -> Path:
    crit = Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu")
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.dump(recipe_to_document(build_recipe(embedded_store(), crit), "v9.9.9")))
    return path


def test_defaults() -> None:
    args = parser().parse_args(["bundle", "-r", "r.yaml"])
    assert (args.output, args.deployer, args.repo, args.set, args.data, args.kubeconfig) == (
        "bundle",
        "helm",
        "",
        [],
        None,
        None,
    )
    assert args.system_node_toleration == []


def test_recipe_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["bundle"])
    assert exit_.value.code == 2
    assert "--recipe" in capsys.readouterr().err


def test_help_mentions_oci_and_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["bundle", "--help"])
    out = capsys.readouterr().out
    assert "OCI output (-o oci://registry/repository[:tag]" in out
    assert "eidos-cli bundle -r recipe.yaml -o oci://registry.example.com/gpu/stack:v1" in out
    assert "--push-charts" in out and "--plain-http" in out and "EIDOS_REGISTRY_USERNAME" in out
    assert "eidos-cli bundle -r recipe.yaml -o ./bundle" in out


def test_helm_bundle_and_summary(recipe_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = run(
        "-r", str(recipe_file), "-o", str(out),
        "--set", "gpuoperator:driver.version=580.82.07,gpu-operator:driver.rdma.enabled=true",
        "--accelerated-node-toleration", "nvidia.com/gpu=present:NoSchedule",
        "--system-node-selector", "pool=system",
    )  # fmt: skip
    assert code == 0
    stdout = capsys.readouterr().out
    assert stdout == (
        "\nHelm bundle generated successfully!\n"
        f"Output directory: {out}\n"
        f"Files generated: {len([p for p in out.rglob('*') if p.is_file() and p.name != RECORD_FILE])}\n"
        "\nTo deploy:\n"
        f"  1. cd {out}\n"
        "  2. ./deploy.sh --dry-run   # review the commands\n"
        "  3. ./deploy.sh\n"
    )
    gpu = yaml.load((out / "gpu-operator" / "values.yaml").read_bytes())
    assert gpu["driver"]["version"] == "580.82.07"
    assert gpu["driver"]["rdma"]["enabled"] is True
    assert gpu["daemonsets"]["tolerations"] == [
        {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}
    ]
    assert gpu["operator"]["nodeSelector"] == {"pool": "system"}
    assert yaml.load((out / "recipe.yaml").read_bytes())["metadata"]["version"] == "v9.9.9"


def test_argocd_bundle(recipe_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gitops"
    assert run("-r", str(recipe_file), "-o", str(out), "-d", "ArgoCD", "--repo", "https://git.example/x.git") == 0
    stdout = capsys.readouterr().out
    assert "ArgoCD applications generated successfully!" in stdout
    assert f"kubectl apply -f {out}/app-of-apps.yaml\n" in stdout
    assert "Note:" not in stdout
    assert (out / "gpu-operator" / "application.yaml").is_file()


@pytest.mark.parametrize(
    ("argv", "error", "message"),
    [
        (["-o", "oci://ghcr.io/ACME/bundle:v1"], InvalidRequestError, "invalid --output value: invalid OCI ref"),
        (["-o", "oci://"], InvalidRequestError, "invalid --output value: .*no repository"),
        (["-o", f"oci://ghcr.io/acme/b@sha256:{'0' * 64}"], InvalidRequestError, "push to a tag, not a digest"),
        (["-o", "oci://ghcr.io/acme/b:bad+tag"], InvalidRequestError, "tag 'bad\\+tag'"),
        (["--plain-http"], InvalidRequestError, "--plain-http is for OCI output"),
        (["--push-charts"], InvalidRequestError, "--push-charts is for OCI output"),
        (["-o", "oci://ghcr.io/acme/b:v1", "--charts", "x"], InvalidRequestError, "--charts is for --push-charts"),
        (["-d", "kustomize"], InvalidRequestError, "invalid deployer type 'kustomize'"),
        (["--set", "nosuch:a=1"], InvalidRequestError, "no component 'nosuch' in this recipe"),
        (["--set", "gpuoperator"], InvalidRequestError, "invalid --set flag"),
        (["--system-node-selector", "x"], InvalidRequestError, "invalid --system-node-selector"),
        (["--accelerated-node-toleration", "a=b"], InvalidRequestError, "invalid --accelerated-node-toleration"),
    ],
)
def test_bad_flags(recipe_file: Path, tmp_path: Path, argv: list[str], error: type[EidosError], message: str) -> None:
    out = tmp_path / "out"
    argv = ["-o", str(out), *argv] if "-o" not in argv else argv
    with pytest.raises(error, match=message) as err:
        run("-r", str(recipe_file), *argv)
    assert err.value.exit_code == 2
    assert not out.exists()


def test_flags_are_checked_before_the_recipe_is_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="invalid deployer"):
        run("-r", str(tmp_path / "missing.yaml"), "-d", "x")


def test_missing_recipe_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as err:
        run("-r", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "out"))
    assert err.value.exit_code == 3


def test_not_a_recipe(tmp_path: Path) -> None:
    path = tmp_path / "snap.yaml"
    path.write_text("kind: Snapshot\napiVersion: eidos.nvidia.com/v1alpha1\n")
    with pytest.raises(InvalidRequestError, match="kind: must be 'recipeResult', got 'Snapshot'"):
        run("-r", str(path), "-o", str(tmp_path / "out"))


def test_data_directory_supplies_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    files = mini_files()
    # --data is a layer over the embedded data: its registry and values files, not a whole data set.
    for rel in ("registry.yaml", "components/a/values.yaml"):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(files[rel])
    doc = recipe_to_document(build_recipe(load_store(files, source="t"), Criteria()), "v1")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.dump(doc))
    out = tmp_path / "out"
    assert run("-r", str(recipe), "-o", str(out), "--data", str(data), "--set", "a:image.tag=v2") == 0
    assert yaml.load((out / "a" / "values.yaml").read_bytes()) == {"replicas": 1, "image": {"tag": "v2"}}
    assert yaml.load((out / "b" / "values.yaml").read_bytes()) == {}
    # Without --data the embedded data has no component "a": the values file is missing.
    with pytest.raises(NotFoundError, match="values file components/a/values.yaml of component a"):
        run("-r", str(recipe), "-o", str(tmp_path / "out2"))
    written = [p for p in out.rglob("*") if p.is_file() and p.name != RECORD_FILE]
    assert f"Files generated: {len(written)}\n" in capsys.readouterr().out


def test_default_output_sits_beside_the_recipe(
    recipe_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `eidos-cli recipe -o recipe.yaml && eidos-cli bundle -r recipe.yaml` must just work.
    monkeypatch.chdir(recipe_file.parent)
    assert run("-r", "recipe.yaml") == 0
    assert (recipe_file.parent / "bundle" / "install-plan.yaml").is_file()
    assert "Output directory: bundle" in capsys.readouterr().out


def test_control_characters_in_recipe_strings_are_refused(tmp_path: Path) -> None:
    doc = yaml.load(
        yaml.dump(recipe_to_document(build_recipe(embedded_store(), Criteria(service="eks")), "v1")).encode()
    )
    doc["metadata"]["version"] = "1\ngpu-operator:\n  enabled: false"
    path = tmp_path / "r.yaml"
    path.write_text(yaml.dump(doc))
    with pytest.raises(InvalidRequestError, match="metadata.version: must be a single line"):
        run("-r", str(path), "-o", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_unquoted_numbers_keep_their_text(tmp_path: Path) -> None:
    doc = recipe_to_document(build_recipe(embedded_store(), Criteria(service="eks")), "v1")
    text = yaml.dump(doc).replace("version: v1.21.1", "version: 1.10", 1)  # cert-manager, unquoted
    assert "version: 1.10\n" in text
    path = tmp_path / "r.yaml"
    path.write_text(text)
    assert run("-r", str(path), "-o", str(tmp_path / "out")) == 0
    plan = yaml.load((tmp_path / "out" / "install-plan.yaml").read_bytes())
    assert {s["component"]: s["chart"]["version"] for s in plan["steps"]}["cert-manager"] == "1.10"


def go_field_names(node: Any) -> Any:
    """A document as Go's encoding/json would also take it: every key capitalised."""
    if isinstance(node, dict):
        return {k[:1].upper() + k[1:]: go_field_names(v) if k != "overrides" else v for k, v in node.items()}
    if isinstance(node, list):
        return [go_field_names(v) for v in node]
    return node


def test_field_names_match_in_any_case_as_in_validate(tmp_path: Path, recipe_file: Path) -> None:
    """One reader of recipes, one rule: ``Constraints:``/``ComponentRefs:`` read as in ``validate``
    (tests/integration/test_validate_cli.py::test_field_names_match_in_any_case_as_in_bundle)."""
    doc = yaml.load(recipe_file.read_bytes())
    capitalised = tmp_path / "go.json"
    capitalised.write_text(json.dumps(go_field_names(doc)))
    assert "Constraints" in capitalised.read_text() and "ComponentRefs" in capitalised.read_text()
    assert run("-r", str(recipe_file), "-o", str(tmp_path / "a")) == 0
    assert run("-r", str(capitalised), "-o", str(tmp_path / "b")) == 0
    for name in ("install-plan.yaml", "recipe.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
