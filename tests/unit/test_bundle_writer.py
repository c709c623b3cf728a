"""Safe writing: paths that escape are refused with nothing written; new directories appear
whole; existing directories follow the documented rules."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from eidos_cli.bundle.bundler import BundleOptions, render_bundle, summary
from eidos_cli.bundle.paths import check_relative, safe_name, template_name
from eidos_cli.bundle.writer import RECORD_FILE, write_bundle
from eidos_core.errors import ForbiddenError, InvalidRequestError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.model import ComponentRef, Recipe
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.sources.embedded import embedded_store


def recipe(criteria: Criteria | None = None) -> Recipe:
    crit = criteria or Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu")
    return recipe_from_document(recipe_to_document(build_recipe(embedded_store(), crit), "v1"))


def tree(root: Path) -> dict[str, bytes]:
    """Files under ``root`` except the writer's own record."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if (p.is_file() or p.is_symlink()) and p.name != RECORD_FILE
    }


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "path", ["", "/etc/passwd", "../evil", "a/../../b", "a//b", "./a", "a/.", "a/", "C:x", "a\\b", "a b", "a\nb"]
)
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidRequestError, match="bundle paths must stay inside the output directory"):
        check_relative(path)


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".hidden", "-x", "", "a b", "x" * 254])
def test_unsafe_component_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError, match="cannot be used in a bundle"):
        safe_name(name)


def test_safe_names_pass() -> None:
    assert safe_name("nvidia-dra-driver-gpu") == "nvidia-dra-driver-gpu"
    assert safe_name("a.b_c") == "a.b_c"
    assert template_name("components/x/manifests/cm.yaml") == "templates/cm.yaml"


@pytest.mark.parametrize("deployer", ["helm", "argocd"])
def test_component_named_to_escape_writes_nothing(tmp_path: Path, deployer: str) -> None:
    evil = ComponentRef(name="../evil", type="Helm", source="https://x", version="1")
    doc = replace(recipe(), component_refs=(*recipe().component_refs, evil))
    out = tmp_path / "out"
    with pytest.raises(InvalidRequestError, match="'../evil' cannot be used in a bundle"):
        write_bundle(render_bundle(doc, embedded_store(), BundleOptions(deployer=deployer)).files, out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("manifest", ["../../etc/passwd", "/etc/passwd", "components/x/..", "components//x.yaml"])
def test_manifest_path_escaping_writes_nothing(tmp_path: Path, manifest: str) -> None:
    refs = tuple(
        replace(r, manifest_files=(manifest,)) if r.name == "gpu-operator" else r for r in recipe().component_refs
    )
    with pytest.raises(InvalidRequestError, match="manifest path"):
        write_bundle(render_bundle(replace(recipe(), component_refs=refs), embedded_store()).files, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["../evil", "/abs", "a/../b", "x/"])
def test_writer_checks_paths_itself(tmp_path: Path, path: str) -> None:
    with pytest.raises(InvalidRequestError):
        write_bundle({"ok.txt": b"1", path: b"2"}, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent / "evil").exists()


def test_file_and_directory_of_one_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="both a file and a directory"):
        write_bundle({"a": b"1", "a/b": b"2"}, tmp_path / "out")


def test_new_directory_is_complete_with_modes(tmp_path: Path) -> None:
    files = render_bundle(recipe(), embedded_store()).files
    out = tmp_path / "deep" / "out"
    assert write_bundle(files, out) == out
    assert tree(out) == dict(files)
    assert stat.S_IMODE((out / "install-plan.yaml").stat().st_mode) == 0o600
    # Scripts run as ./deploy.sh: executable by their owner, like everything else private to them.
    assert stat.S_IMODE((out / "deploy.sh").stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "undeploy.sh").stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "gpu-operator").stat().st_mode) & 0o700 == 0o700
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["out"]  # no staging left behind
    record = (out / RECORD_FILE).read_text().splitlines()
    assert record == [f"{sha(files[rel])}  {rel}" for rel in sorted(files)]


def test_failure_while_staging_leaves_nothing(tmp_path: Path) -> None:
    files: dict[str, bytes] = {"a.txt": b"1", "b.txt": "not bytes"}  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        write_bundle(files, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_failure_while_staging_into_existing_dir_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    files: dict[str, bytes] = {"a.txt": b"1", "b.txt": "not bytes"}  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        write_bundle(files, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_existing_directory_with_someone_elses_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("my project")
    (tmp_path / "src").mkdir()
    with pytest.raises(InvalidRequestError, match=r"has a README.md that no earlier bundle wrote there"):
        write_bundle(render_bundle(recipe(), embedded_store()).files, tmp_path)
    assert (tmp_path / "README.md").read_text() == "my project"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "src"]


def test_existing_directory_without_clashes_gets_the_bundle(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep")
    files = render_bundle(recipe(), embedded_store()).files
    write_bundle(files, tmp_path)
    assert tree(tmp_path) == {**files, "notes.txt": b"keep"}


def test_rewriting_a_bundle_replaces_it_and_drops_stale_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep")
    write_bundle(render_bundle(recipe(), embedded_store()).files, tmp_path)
    assert (tmp_path / "skyhook-operator" / "manifests" / "ubuntu-tuning.yaml").exists()
    # Another recipe: no skyhook ubuntu manifest, no gb200 manifest.
    smaller = render_bundle(recipe(Criteria(service="eks")), embedded_store()).files
    write_bundle(smaller, tmp_path)
    assert tree(tmp_path) == {**smaller, "notes.txt": b"keep"}
    # And then Argo CD into the same place: the Helm files it listed are gone.
    argo = render_bundle(recipe(Criteria(service="eks")), embedded_store(), BundleOptions(deployer="argocd")).files
    write_bundle(argo, tmp_path)
    assert not (tmp_path / "deploy.sh").exists()
    assert not (tmp_path / "cert-manager" / "manifests").exists()
    assert tree(tmp_path) == {**argo, "notes.txt": b"keep"}


def test_a_users_checksums_file_does_not_make_their_files_ours(tmp_path: Path) -> None:
    # A download folder with its own sha256sum list: nothing in it may be deleted or replaced.
    (tmp_path / "ubuntu.iso").write_bytes(b"iso")
    (tmp_path / "checksums.txt").write_text(f"{sha(b'iso')}  ubuntu.iso\n")
    files = render_bundle(recipe(), embedded_store()).files
    with pytest.raises(InvalidRequestError, match="has a checksums.txt that no earlier bundle wrote there"):
        write_bundle(files, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checksums.txt", "ubuntu.iso"]
    (tmp_path / "checksums.txt").unlink()
    write_bundle(files, tmp_path)  # without the clash the bundle goes in beside the user's file
    assert (tmp_path / "ubuntu.iso").read_bytes() == b"iso"


def test_an_edited_generated_file_is_neither_replaced_nor_removed(tmp_path: Path) -> None:
    write_bundle(render_bundle(recipe(), embedded_store()).files, tmp_path)
    values = tmp_path / "gpu-operator" / "values.yaml"
    values.write_text("# my tuning\n")
    with pytest.raises(InvalidRequestError, match="has a gpu-operator/values.yaml that no earlier bundle wrote there"):
        write_bundle(render_bundle(recipe(Criteria(service="eks")), embedded_store()).files, tmp_path)
    assert values.read_text() == "# my tuning\n"
    tuning = tmp_path / "skyhook-operator" / "manifests" / "ubuntu-tuning.yaml"
    tuning.write_text("edited")
    values.unlink()
    smaller = render_bundle(recipe(Criteria(service="eks")), embedded_store()).files
    write_bundle(smaller, tmp_path)
    assert tuning.read_text() == "edited", "edited: not ours to delete"


def test_hostile_checksums_never_steer_a_delete(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    digest = "0" * 64
    (out / RECORD_FILE).write_text(f"{digest}  ../victim.txt\n{digest}  /etc/hostname\n{digest}  sub\n")
    (out / "sub").mkdir()
    write_bundle({"a.txt": b"1"}, out)
    assert victim.read_text() == "precious"
    assert (out / "sub").is_dir()


def test_symlinked_directory_inside_output_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(elsewhere, out / "gpu-operator")
    with pytest.raises(InvalidRequestError, match="refusing to write through it"):
        write_bundle(render_bundle(recipe(), embedded_store()).files, out)
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["gpu-operator"]


def test_directory_where_a_file_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").mkdir()
    with pytest.raises(InvalidRequestError, match="a directory or symlink has that name"):
        write_bundle({"Chart.yaml": b"x"}, tmp_path)


def test_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(InvalidRequestError, match="exists and is not a directory"):
        write_bundle({"a": b"1"}, tmp_path / "out")


def test_two_runs_write_identical_bytes(tmp_path: Path) -> None:
    for name in ("one", "two"):
        write_bundle(render_bundle(recipe(), embedded_store()).files, tmp_path / name)
    first, second = tree(tmp_path / "one"), tree(tmp_path / "two")
    assert first == second
    bundle = render_bundle(recipe(), embedded_store())
    # Regression (issue 10): "Files generated" counts exactly the bundle's files (the record aside).
    assert len(first) == len(bundle.files)  # tree() leaves out the .eidos-bundle record
    assert f"Files generated: {len(first)}\n" in summary(bundle, "x")


def test_os_errors_become_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(ForbiddenError, match=r"cannot write the bundle to .*out \(.*out\): Permission denied$"):
        write_bundle({"a.txt": b"1"}, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # the staging directory is cleaned up


def test_stale_files_behind_a_symlink_are_not_removed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.yaml").write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / RECORD_FILE).write_text(f"{sha(b'keep')}  templates/x.yaml\n{sha(b'stale')}  old.txt\n")
    (out / "old.txt").write_text("stale")
    os.symlink(elsewhere, out / "templates")
    write_bundle({"new.txt": b"1"}, out)
    assert (elsewhere / "x.yaml").read_text() == "keep"
    assert not (out / "old.txt").exists()
    assert (out / "new.txt").read_bytes() == b"1"
