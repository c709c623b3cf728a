"""``eidos-cli validate`` through its ``run`` function: files in, report out, exit codes
(7 when a constraint fails), plus the reference's worked example when ../shared is here."""

from __future__ import annotations

import argparse
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from eidos_cli.commands import validate
from eidos_core import yaml
from eidos_core.errors import InvalidRequestError, NotFoundError, ValidationFailedError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import parse_criteria
from eidos_core.recipe.result import recipe_to_document
from eidos_core.sources.directory import load_directory

SNAPSHOT: dict[str, Any] = {
    "kind": "Snapshot",
    "apiVersion": "eidos.nvidia.com/v1alpha1",
    "metadata": {"source-node": "node-1"},
    "measurements": [
        {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": "v1.32.4-eks-3025e55"}}]},
        {"type": "OS", "subtypes": [{"subtype": "release", "data": {"ID": "ubuntu", "VERSION_ID": "24.04"}}]},
    ],
}


def recipe(*constraints: tuple[str, str]) -> dict[str, Any]:
    return {
        "kind": "recipeResult",
        "apiVersion": "eidos.nvidia.com/v1alpha1",
        "metadata": {"version": "v0.26.7"},
        "criteria": {"service": "eks"},
        "constraints": [{"name": n, "value": v} for n, v in constraints],
        "componentRefs": [],
        "deploymentOrder": [],
    }


PASSING = recipe(("K8s.server.version", ">= 1.28"), ("OS.release.ID", "ubuntu"))
FAILING = recipe(("K8s.server.version", ">= 1.33"), ("OS.release.ID", "ubuntu"))
PARTIAL = recipe(("K8s.server.version", ">= 1.28"), ("GPU.smi.gpu.model", "NVIDIA H100"))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="eidos-cli")
    validate.register(root.add_subparsers())
    return root


def invoke(*argv: str) -> int:
    args = parser().parse_args(["validate", *argv])
    code: int = args.run(args)
    return code


def write(path: Path, doc: Any) -> str:
    path.write_text(json.dumps(doc) if path.suffix == ".json" else yaml.dump(doc))
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    return {
        "snapshot": write(tmp_path / "snapshot.yaml", SNAPSHOT),
        "pass": write(tmp_path / "pass.yaml", PASSING),
        "fail": write(tmp_path / "fail.json", FAILING),
        "partial": write(tmp_path / "partial.yaml", PARTIAL),
    }


def stdout_doc(capsys: pytest.CaptureFixture[str]) -> Any:
    return yaml.load(capsys.readouterr().out, source="stdout")


# ---------------------------------------------------------------- outcomes and exit codes


def test_all_passed_exits_0_with_a_yaml_report(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke("-r", files["pass"], "-s", files["snapshot"], "-t", "yaml") == 0
    doc = stdout_doc(capsys)
    assert doc["kind"] == "ValidationResult"
    assert (doc["recipeSource"], doc["snapshotSource"]) == (files["pass"], files["snapshot"])
    assert {k: doc["summary"][k] for k in ("passed", "failed", "skipped", "total", "status")} == {
        "passed": 2, "failed": 0, "skipped": 0, "total": 2, "status": "pass",
    }  # fmt: skip
    assert isinstance(doc["summary"]["duration"], str)
    assert doc["summary"]["duration"].endswith("s")  # Go-style text, e.g. 41.2µs
    assert [(r["name"], r["actual"], r["status"]) for r in doc["results"]] == [
        ("K8s.server.version", "v1.32.4-eks-3025e55", "passed"),
        ("OS.release.ID", "ubuntu", "passed"),
    ]


def test_a_failed_constraint_exits_7_after_writing_the_report(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    with pytest.raises(ValidationFailedError) as info:
        invoke("--recipe", files["fail"], "--snapshot", files["snapshot"], "--format", "json", "--output", str(out))
    assert info.value.exit_code == 7
    assert info.value.message == "validation failed: 1 constraint(s) did not pass"
    assert info.value.details["failed"] == ["K8s.server.version"]
    assert capsys.readouterr().out == ""  # the report went to the file only
    doc = json.loads(out.read_text())
    assert doc["summary"]["status"] == "fail"
    assert isinstance(doc["summary"]["duration"], int)  # JSON: integer nanoseconds
    assert doc["results"][0]["message"] == "expected >= 1.33, got v1.32.4-eks-3025e55"
    assert out.read_text().endswith("}\n")


@pytest.mark.parametrize("flag", ["--fail-on-error=false", "--fail-on-error=0", "--fail-on-error=False"])
def test_fail_on_error_false_only_reports(files: dict[str, str], capsys: pytest.CaptureFixture[str], flag: str) -> None:
    assert invoke("-r", files["fail"], "-s", files["snapshot"], "-t", "yaml", flag) == 0
    assert stdout_doc(capsys)["summary"]["status"] == "fail"


@pytest.mark.parametrize("flag", ["--fail-on-error", "--fail-on-error=true", "--fail-on-error=1"])
def test_fail_on_error_true_spellings(files: dict[str, str], flag: str) -> None:
    with pytest.raises(ValidationFailedError):
        invoke("-r", files["fail"], "-s", files["snapshot"], flag)


def test_partial_exits_0_and_warns(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="eidos_cli.validate"):
        assert invoke("-r", files["partial"], "-s", files["snapshot"], "-t", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["status"] == "partial"
    skipped = doc["results"][1]
    assert skipped["status"] == "skipped"
    assert skipped["actual"] == ""
    assert skipped["message"].startswith("value not found in snapshot: measurement type 'GPU'")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["constraint skipped"]
    completed = [r for r in caplog.records if r.getMessage() == "validation completed"]
    assert len(completed) == 1
    assert vars(completed[0])["status"] == "partial"


def test_no_constraints_pass(tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    empty = write(tmp_path / "empty.yaml", {"kind": "recipeResult", "componentRefs": []})
    assert invoke("-r", empty, "-s", files["snapshot"], "-t", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["results"] == []
    assert doc["summary"]["status"] == "pass"
    assert doc["summary"]["total"] == 0


# ---------------------------------------------------------------- formats and destinations


def test_default_format_is_a_table(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke("-r", files["pass"], "-s", files["snapshot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"recipe: {files['pass']}  snapshot: {files['snapshot']}"
    assert lines[2].split() == ["CONSTRAINT", "EXPECTED", "ACTUAL", "RESULT"]
    assert [line.split() for line in lines[4:6]] == [
        ["K8s.server.version", ">=", "1.28", "v1.32.4-eks-3025e55", "passed"],
        ["OS.release.ID", "ubuntu", "ubuntu", "passed"],
    ]
    assert lines[7].startswith("pass: 2 passed, 0 failed, 0 skipped of 2 in ") and lines[7].endswith("ms")


def test_yaml_report_to_a_file_replaces_it(files: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "report.yaml"
    out.write_text("old content\n")
    assert invoke("-r", files["pass"], "-s", files["snapshot"], "-t", "yaml", "-o", str(out)) == 0
    text = out.read_text()
    assert text.startswith("kind: ValidationResult\napiVersion: eidos.nvidia.com/v1alpha1\nmetadata:\n")
    assert "expected: '>= 1.28'" in text  # quoted: a plain scalar may not start with '>'
    assert yaml.load(text, source="report")["summary"]["passed"] == 2


def test_recipe_from_stdin(
    files: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(yaml.dump(FAILING).encode())))
    assert invoke("-r", "-", "-s", files["snapshot"], "-t", "json", "--fail-on-error=false") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["recipeSource"] == "-"
    assert doc["summary"]["failed"] == 1


def test_go_reference_style_recipe_json(
    tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Go's JSON decoding is case-insensitive and ignores unknown fields; so are we.
    doc = {"Kind": "recipeResult", "Constraints": [{"Name": "OS.release.VERSION_ID", "Value": "== 24.4"}], "x": 1}
    path = write(tmp_path / "go.json", doc)
    assert invoke("-r", path, "-s", files["snapshot"], "-t", "json") == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert (result["expected"], result["actual"], result["status"]) == ("== 24.4", "24.04", "passed")


# ---------------------------------------------------------------- input and flag errors


def test_missing_recipe_is_not_found(files: dict[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(NotFoundError) as info:
        invoke("-r", missing, "-s", files["snapshot"])
    assert info.value.exit_code == 3
    assert info.value.message.startswith(f'failed to load recipe from "{missing}": ')


def test_recipe_errors_come_before_snapshot_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("constraints: [unclosed\n")
    with pytest.raises(InvalidRequestError) as info:
        invoke("-r", str(bad), "-s", str(tmp_path / "missing-snapshot.yaml"))
    assert info.value.exit_code == 2
    assert "failed to load recipe from" in info.value.message


def test_bad_snapshot_names_the_snapshot(files: dict[str, str], tmp_path: Path) -> None:
    snap = write(tmp_path / "snap.yaml", {"kind": "Snapshot", "measurements": {"type": "K8s"}})
    with pytest.raises(InvalidRequestError) as info:
        invoke("-r", files["pass"], "-s", snap)
    assert info.value.message.startswith(f'failed to load snapshot from "{snap}": ')
    assert "measurements: must be a list" in info.value.message


def test_swapped_arguments_are_caught(files: dict[str, str]) -> None:
    with pytest.raises(InvalidRequestError, match=r"are --recipe and --snapshot swapped\?"):
        invoke("-r", files["snapshot"], "-s", files["pass"])


def test_bad_constraint_shape_names_the_field(tmp_path: Path, files: dict[str, str]) -> None:
    path = write(tmp_path / "r.yaml", {"constraints": [{"name": "OS.release.ID", "value": ["ubuntu"]}]})
    with pytest.raises(InvalidRequestError) as info:
        invoke("-r", path, "-s", files["snapshot"])
    assert "constraints[0].value: must be a string" in info.value.message


def test_field_names_match_in_any_case_as_in_bundle(
    tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """One reader of recipes, one rule (Go's encoding/json: field names in any case), in
    validate as in bundle (tests/unit/test_bundle_command.py::test_field_names_match_in_any_case_as_in_validate)."""
    go = {k[:1].upper() + k[1:]: v for k, v in PASSING.items()}
    go["Constraints"] = [{"Name": c["name"], "VALUE": c["value"]} for c in PASSING["constraints"]]
    assert invoke("-r", write(tmp_path / "go.json", go), "-s", files["snapshot"], "-t", "yaml") == 0
    results = stdout_doc(capsys)["results"]
    assert [(r["name"], r["status"]) for r in results] == [
        ("K8s.server.version", "passed"),
        ("OS.release.ID", "passed"),
    ]
    # Malformed elsewhere than in constraints: refused here as bundle refuses it.
    bad = write(tmp_path / "bad.yaml", {**PASSING, "componentRefs": [{"name": "a", "overrides": ["x"]}]})
    with pytest.raises(InvalidRequestError, match=r"componentRefs\[0\]\.overrides: must be a mapping, got a list"):
        invoke("-r", bad, "-s", files["snapshot"])


def test_both_from_stdin_is_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="cannot both read stdin"):
        invoke("-r", "-", "-s", "-")


def test_output_cannot_be_a_url(files: dict[str, str], tmp_path: Path) -> None:
    # Checked before anything is read: the missing snapshot would otherwise be the error.
    with pytest.raises(InvalidRequestError, match="write the report to a file, - or cm://namespace/name"):
        invoke("-r", files["pass"], "-s", str(tmp_path / "absent.yaml"), "-o", "https://example.com/report")


def test_output_in_a_missing_directory(files: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        invoke("-r", files["pass"], "-s", files["snapshot"], "-o", str(tmp_path / "no" / "report.yaml"))


@pytest.mark.parametrize(
    "argv",
    [
        ["-s", "snap.yaml"],  # --recipe is required
        ["-r", "recipe.yaml"],  # --snapshot is required
        ["-r", "r.yaml", "-s", "s.yaml", "-t", "xml"],
        ["-r", "r.yaml", "-s", "s.yaml", "--fail-on-error=maybe"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parser().parse_args(["validate", *argv])
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_help_shows_defaults_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parser().parse_args(["validate", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for fragment in (
        "--recipe URI",
        "--snapshot URI",
        "--fail-on-error",
        "--kubeconfig",
        "default: table",
        "examples:",
    ):
        assert fragment in text


def test_format_checked_when_args_are_built_by_hand(files: dict[str, str]) -> None:
    args = argparse.Namespace(
        recipe=files["pass"], snapshot=files["snapshot"], format="xml", output="-", fail_on_error=True, kubeconfig=None
    )
    with pytest.raises(InvalidRequestError, match="unknown output format: 'xml'"):
        validate.run(args)


# ---------------------------------------------------------------- the reference's worked example


@pytest.fixture(scope="module")
def reference_recipe(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The reference's eks/gb200/ubuntu/training recipe, built by our engine from its data."""
    store = load_directory(reference_dir / "recipe-data")
    criteria = parse_criteria(service="eks", accelerator="gb200", os="ubuntu", intent="training")
    path = tmp_path_factory.mktemp("reference") / "eks-gb200-ubuntu-training.yaml"
    return write(path, recipe_to_document(build_recipe(store, criteria), "dev"))


def test_reference_gb200_snapshot_passes(
    reference_dir: Path, reference_recipe: str, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = str(reference_dir / "snapshots" / "gb200.yaml")
    assert invoke("-r", reference_recipe, "-s", snapshot, "-t", "yaml") == 0
    doc = stdout_doc(capsys)
    assert doc["summary"]["status"] == "pass"
    assert [(r["name"], r["actual"], r["status"]) for r in doc["results"]] == [
        ("K8s.server.version", "v1.33.5-eks-3025e55", "passed"),
        ("OS.release.ID", "ubuntu", "passed"),
        ("OS.release.VERSION_ID", "24.04", "passed"),
        ("OS.sysctl./proc/sys/kernel/osrelease", "6.8.0-1028-aws", "passed"),
    ]


def test_reference_h100_snapshot_fails_on_the_k8s_version(
    reference_dir: Path, reference_recipe: str, tmp_path: Path
) -> None:
    snapshot = str(reference_dir / "snapshots" / "h100.yaml")
    out = tmp_path / "report.yaml"
    with pytest.raises(ValidationFailedError):
        invoke("-r", reference_recipe, "-s", snapshot, "-t", "yaml", "-o", str(out))
    doc = yaml.load(out.read_text(), source=str(out))
    assert {k: doc["summary"][k] for k in ("passed", "failed", "skipped", "status")} == {
        "passed": 3, "failed": 1, "skipped": 0, "status": "fail",
    }  # fmt: skip
    failed = [r for r in doc["results"] if r["status"] == "failed"]
    assert failed == [
        {
            "name": "K8s.server.version",
            "expected": ">= 1.32.4",
            "actual": "v1.30.14-eks-3025e55",
            "status": "failed",
            "message": "expected >= 1.32.4, got v1.30.14-eks-3025e55",
        }
    ]
    # The same report without the verdict:
    assert invoke("-r", reference_recipe, "-s", snapshot, "-o", str(out), "--fail-on-error=false") == 0
    lines = out.read_text().splitlines()
    assert lines[2].split() == ["CONSTRAINT", "EXPECTED", "ACTUAL", "RESULT", "MESSAGE"]
    assert lines[4].split()[:5] == ["K8s.server.version", ">=", "1.32.4", "v1.30.14-eks-3025e55", "failed"]
    assert lines[-1].startswith("fail: 3 passed, 1 failed, 0 skipped of 4 in ")


def test_reference_systemd_subtype_with_a_dot_resolves(
    reference_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reference cannot address subtypes named like units; we match them against the snapshot.
    path = write(tmp_path / "r.yaml", recipe(("SystemD.containerd.service.ActiveState", "active")))
    assert invoke("-r", path, "-s", str(reference_dir / "snapshots" / "h100.yaml"), "-t", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["status"] == "pass"
    assert doc["results"][0]["actual"] == "active"
