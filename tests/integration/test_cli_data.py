"""``eidos-cli data validate|configmap|coverage`` on our own and the reference's data directories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eidos_cli.__main__ import main
from eidos_core import yaml
from eidos_core.data.coverage import BEGIN, END, markdown
from eidos_core.data.files import read_directory, read_mapping
from eidos_core.data.load import load_store
from eidos_core.sources.embedded import embedded_store
from tests.conftest import mini_files

REPO = Path(__file__).resolve().parents[2]


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(body)
    return root


def test_validate_accepts_our_data_and_the_reference(capsys: pytest.CaptureFixture[str], reference_data: Path) -> None:
    for directory in (REPO / "recipe_data", reference_data):
        code, out, err = run_main(capsys, "data", "validate", str(directory))
        assert code == 0, err
        assert out.startswith(f"{directory}: ok (") and "overlays" in out


def test_validate_lists_every_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = mini_files(
        x={"criteria": {"service": "eks", "accelerator": "tpu"}},
        y={"criteria": {"service": "gke"}, "componentRefs": [{"name": "nope", "type": "Helm"}]},
    )
    code, out, err = run_main(capsys, "data", "validate", str(write(tmp_path, files)))
    assert code == 2 and out == ""
    assert "2 problem(s):" in err
    assert "overlays/x.yaml" in err and "tpu" in err
    assert "overlays/y.yaml" in err and "nope" in err


def test_layered_validation(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    layer = write(tmp_path, {"registry.yaml": b"components: []\n"})
    code, out, err = run_main(capsys, "data", "validate", "--layered", str(layer))
    assert code == 0 and " ok (" in out, err
    (layer / "registry.yaml").unlink()
    code, _, err = run_main(capsys, "data", "validate", "--layered", str(layer))
    assert code == 2 and "must include registry.yaml" in err


def test_configmap_manifest_round_trips(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = REPO / "recipe_data"
    code, out, err = run_main(capsys, "data", "configmap", str(source), "--name", "eidos-data", "--namespace", "eidos")
    assert code == 0, err
    manifest = yaml.load(out)
    assert manifest["kind"] == "ConfigMap" and manifest["metadata"]["namespace"] == "eidos"
    assert "overlays__base.yaml" in manifest["data"] and "registry.yaml" in manifest["data"]
    # What eidosd's ConfigMap source will read back is the same data set.
    files = read_mapping({k: v.encode() for k, v in manifest["data"].items()}, "test")
    assert files == read_directory(source)
    assert load_store(files, source="cm").version == load_store(read_directory(source), source="dir").version
    assert "|" in out, "values files are readable literal blocks"


def test_configmap_refuses_invalid_or_missing_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = write(tmp_path / "bad", mini_files(x={"criteria": {"os": "windows"}}))
    code, out, err = run_main(capsys, "data", "configmap", str(bad), "--name", "n", "--namespace", "ns")
    assert code == 2 and out == "" and "windows" in err
    code, _, err = run_main(capsys, "data", "configmap", str(tmp_path / "none"), "--name", "n", "--namespace", "ns")
    assert code == 3 and "does not exist" in err
    code, _, err = run_main(capsys, "data", "configmap", str(bad))
    assert code == 2 and "the following arguments are required: --name, --namespace" in err
    shutil.rmtree(bad)


def test_configmap_carries_binary_files_as_binary_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = mini_files()
    files["components/a/manifests/blob.yaml"] = b"\xff\xfe not utf-8"
    write(tmp_path, files)
    code, out, err = run_main(capsys, "data", "configmap", str(tmp_path), "--name", "n", "--namespace", "ns")
    assert code == 0, err
    manifest = yaml.load(out)
    assert "components__a__manifests__blob.yaml" in manifest["binaryData"]
    assert "components__a__manifests__blob.yaml" not in manifest["data"]


def test_coverage_prints_the_embedded_tables(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "data", "coverage")
    assert code == 0, err
    assert out == markdown(embedded_store())
    assert out.startswith("### Components\n") and "### Overlays\n" in out and "### Coverage\n" in out
    code, out, _ = run_main(capsys, "data", "coverage", "--help")
    assert code == 0 and "--update README.md" in out and "--standalone" in out


def test_coverage_of_a_layer_and_of_a_standalone_set(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    site = {
        "registry.yaml": b"components: []\n",
        "overlays/gke-l40-inference.yaml": b"# Site: L40 inference on GKE. More.\n"
        + yaml.dump(
            {
                "kind": "recipeMetadata",
                "apiVersion": "eidos.nvidia.com/v1alpha1",
                "metadata": {"name": "gke-l40-inference"},
                "spec": {"criteria": {"service": "gke", "accelerator": "l40", "intent": "inference"}},
            }
        ).encode(),
    }
    code, out, err = run_main(capsys, "data", "coverage", str(write(tmp_path / "site", site)))
    assert code == 0, err
    assert "| `gke-l40-inference` | `gke` | `l40` | `inference` |" in out and "Site: L40 inference on GKE. |" in out
    assert "**`gke-l40-inference`**" in out and "| `eks` |" in out  # the embedded overlays are still there
    code, out, err = run_main(capsys, "data", "coverage", "--standalone", str(write(tmp_path / "mini", mini_files())))
    assert code == 0, err
    assert "`gpu-operator`" not in out and "| `a` |" in out
    code, _, err = run_main(capsys, "data", "coverage", "--standalone")
    assert code == 2 and "--standalone needs DIR" in err
    code, _, err = run_main(capsys, "data", "coverage", str(write(tmp_path / "bad", {"registry.yaml": b"[\n"})))
    assert code == 2 and "registry.yaml" in err


def test_coverage_update_rewrites_between_the_markers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text(f"# Title\n\n{BEGIN}\nstale\n{END}\n\n## After\n")
    code, out, err = run_main(capsys, "data", "coverage", "--update", str(doc))
    assert code == 0 and out == "" and "updated" in err
    text = doc.read_text()
    assert text.startswith(f"# Title\n\n{BEGIN}\n### Components\n") and "stale" not in text
    assert text.endswith(f"\n{END}\n\n## After\n")
    code, _, err = run_main(capsys, "data", "coverage", "--update", str(doc))
    assert code == 0 and "already up to date" in err and doc.read_text() == text
    doc.write_text("no markers\n")
    code, _, err = run_main(capsys, "data", "coverage", "--update", str(doc))
    assert code == 2 and "markers" in err and doc.read_text() == "no markers\n"
