"""Load-time validation: every problem names its file and field, and nothing half-loads."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from eidos_core import yaml
from eidos_core.data.files import MAX_FILE_BYTES, flatten, read_directory, unflatten
from eidos_core.data.load import load_store
from eidos_core.errors import NotFoundError, RecipeDataError
from eidos_core.sources.directory import load_directory
from tests.conftest import metadata_doc, mini_files


def problems_of(files: dict[str, bytes]) -> list[str]:
    with pytest.raises(RecipeDataError) as info:
        load_store(files, source="test")
    return [str(p) for p in info.value.problems]


def with_overlay(name: str, spec: dict[str, object], **extra: object) -> dict[str, bytes]:
    files = mini_files()
    doc = {**metadata_doc(name, spec), **extra}
    files[f"overlays/{name}.yaml"] = yaml.dump(doc).encode()
    return files


def test_mini_store_loads() -> None:
    store = load_store(mini_files(x={"criteria": {"service": "eks"}}), source="test")
    assert store.base.name == "base" and set(store.overlays) == {"x"}
    assert len(store.version) == 12


@pytest.mark.parametrize(
    ("spec", "extra", "expected"),
    [
        (
            {"criteria": {"service": "mars"}},
            {},
            "overlays/o.yaml: spec.criteria.service: invalid value 'mars' (allowed: aks, eks, gke, oke, any)",
        ),
        ({"criteria": {"nodes": -1}}, {}, "overlays/o.yaml: spec.criteria.nodes: must be an integer >= 0"),
        (
            {"criteria": {"gpu": "h100"}},
            {},
            "spec.criteria.gpu: unknown field (allowed: service, accelerator, intent, os, nodes)",
        ),
        (
            {"componentRefs": [{"name": "zzz"}]},
            {},
            "overlays/o.yaml: spec.componentRefs[0].name: unknown component 'zzz' (registry: a, b, c)",
        ),
        (
            {"componentRefs": [{"name": "a", "valuesFile": "components/a/nope.yaml"}]},
            {},
            "spec.componentRefs[0].valuesFile: file 'components/a/nope.yaml' not found",
        ),
        (
            {"componentRefs": [{"name": "a", "manifestFiles": ["m.yaml"]}]},
            {},
            "spec.componentRefs[0].manifestFiles[0]: file 'm.yaml' not found",
        ),
        (
            {"componentRefs": [{"name": "a", "type": "helm"}]},
            {},
            "spec.componentRefs[0].type: invalid value 'helm' (allowed: Helm, Kustomize)",
        ),
        ({"componentRefs": [{"name": "a", "valueFile": "x"}]}, {}, "spec.componentRefs[0].valueFile: unknown field"),
        (
            {"componentRefs": [{"name": "a", "dependencyRefs": ["nope"]}]},
            {},
            'overlays/o.yaml: spec.componentRefs: component "a" references unknown dependency "nope"',
        ),
        (
            {"constraints": [{"name": "K8s.version", "value": "1"}]},
            {},
            "spec.constraints[0].name: invalid constraint name 'K8s.version'",
        ),
        (
            {"constraints": [{"name": "K8s.server.version", "value": ">="}]},
            {},
            "spec.constraints[0].value: operator '>=' needs a value",
        ),
        (
            {"base": "ghost", "criteria": {"service": "eks"}},
            {},
            'overlays/o.yaml: spec.base: unknown base recipe "ghost"',
        ),
        ({}, {"kind": "Recipe"}, "overlays/o.yaml: kind: must be 'recipeMetadata', got 'Recipe'"),
        ({}, {"apiVersion": "eidos.nvidia.com/v2"}, "apiVersion: must be 'eidos.nvidia.com/v1alpha1'"),
    ],
)
def test_problem_names_file_and_field(spec: dict[str, object], extra: dict[str, object], expected: str) -> None:
    found = problems_of(with_overlay("o", spec, **extra))
    assert all(p.startswith("overlays/o.yaml") for p in found), found
    without_lines = [re.sub(r"^([^:]+):\d+:", r"\1:", p) for p in found]
    assert any(expected in p for p in without_lines), found


def test_yaml_syntax_error_has_line_and_column() -> None:
    files = mini_files()
    files["overlays/bad.yaml"] = b"kind: recipeMetadata\nspec:\n  criteria: [\n"
    (problem,) = problems_of(files)
    assert problem.startswith("overlays/bad.yaml:4:")


def test_duplicate_overlay_names_name_both_files() -> None:
    files = mini_files(one={"criteria": {"service": "eks"}})
    files["overlays/two.yaml"] = files["overlays/one.yaml"]
    assert problems_of(files) == [
        "overlays/two.yaml: metadata.name: duplicate overlay name 'one' (also in overlays/one.yaml)"
    ]


def test_inheritance_cycle() -> None:
    files = mini_files(x={"base": "y"}, y={"base": "x", "criteria": {"service": "eks"}})
    found = problems_of(files)
    assert any("spec.base: circular inheritance" in p for p in found), found


def test_dependency_cycle_in_base() -> None:
    files = mini_files()
    base = yaml.load(files["overlays/base.yaml"])
    base["spec"]["componentRefs"][0]["dependencyRefs"] = ["b"]
    files["overlays/base.yaml"] = yaml.dump(base).encode()
    assert problems_of(files) == ["overlays/base.yaml: spec.componentRefs: circular dependency detected: a -> b -> a"]


def test_missing_base_and_registry() -> None:
    files = mini_files()
    del files["overlays/base.yaml"], files["registry.yaml"]
    found = problems_of(files)
    assert "registry.yaml: missing: a data set needs a component registry" in found
    assert "overlays/base.yaml: missing: a data set needs a base recipe" in found


def test_alias_bomb_in_data() -> None:
    files = mini_files()
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)
    ]
    files["overlays/bomb.yaml"] = "\n".join(lines).encode()
    (problem,) = problems_of(files)
    assert problem.startswith("overlays/bomb.yaml:") and "alias bomb" in problem


def test_yml_overlay_is_not_silently_ignored() -> None:
    files = mini_files()
    files["overlays/eks.yml"] = b"kind: recipeMetadata\n"
    assert problems_of(files) == ["overlays/eks.yml: overlay files must end in .yaml"]


def test_many_problems_reported_together() -> None:
    files = with_overlay("o", {"criteria": {"service": "mars", "os": "beos"}, "componentRefs": [{"name": "zzz"}]})
    with pytest.raises(RecipeDataError) as info:
        load_store(files, source="test")
    assert len(info.value.problems) == 3
    assert "(and 2 more problems)" in str(info.value)


# --- directories -------------------------------------------------------------------------


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_flatten_round_trip() -> None:
    assert unflatten("components__gpu-operator__values.yaml") == "components/gpu-operator/values.yaml"
    assert flatten("overlays/base.yaml") == "overlays__base.yaml"


def test_directory_with_flattened_names_and_configmap_layout(tmp_path: Path) -> None:
    # What the kubelet makes of a ConfigMap volume: real files in a timestamped dir, a
    # ..data symlink to it, and one visible symlink per key.
    stamp = tmp_path / "..2026_11_26_10_00_00.000000001"
    stamp.mkdir()
    for rel, data in mini_files(x={"criteria": {"service": "eks"}}).items():
        (stamp / flatten(rel)).write_bytes(data)
    (tmp_path / "..data").symlink_to(stamp.name)
    for entry in stamp.iterdir():
        (tmp_path / entry.name).symlink_to(Path("..data") / entry.name)
    store = load_directory(tmp_path)
    assert set(store.overlays) == {"x"}
    assert store.files["components/a/values.yaml"].startswith(b"replicas")


def test_symlink_escaping_the_directory_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_tree(data, mini_files())
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: x\n")
    (data / "components" / "a" / "leak.yaml").symlink_to(secret)
    with pytest.raises(RecipeDataError, match="components/a/leak.yaml: symlink points outside the data directory"):
        read_directory(data)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path, mini_files())
    big = tmp_path / "components" / "a" / "big.yaml"
    with open(big, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(RecipeDataError, match=f"components/a/big.yaml: file is {MAX_FILE_BYTES + 1} bytes"):
        read_directory(tmp_path)


def test_flattened_and_nested_duplicate(tmp_path: Path) -> None:
    write_tree(tmp_path, mini_files())
    (tmp_path / "overlays__base.yaml").write_bytes((tmp_path / "overlays" / "base.yaml").read_bytes())
    with pytest.raises(RecipeDataError, match="same data path 'overlays/base.yaml'"):
        read_directory(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        read_directory(tmp_path / "nope")


def test_reference_data_loads_unchanged(reference_data: Path) -> None:
    store = load_directory(reference_data)
    assert len(store.overlays) == 7
    assert store.registry.get("gpu-operator") is not None
    assert os.fspath(reference_data) in store.source


def test_a_component_ref_namespace_must_be_a_label_and_later_overlays_win() -> None:
    from eidos_core.codec import merge as merge_ref
    from eidos_core.data.load import decode_metadata
    from eidos_core.recipe.model import ComponentRef
    from eidos_core.yaml import load

    doc = (
        "kind: recipeMetadata\napiVersion: eidos.nvidia.com/v1alpha1\nmetadata: {name: x}\n"
        "spec:\n  componentRefs:\n    - {name: prometheus, type: Helm, namespace: Obs_NS}\n"
    )
    _, problems = decode_metadata(load(doc, raw=True), "overlays/x.yaml")
    assert [p.field for p in problems] == ["spec.componentRefs[0].namespace"]
    merged = merge_ref(ComponentRef("prometheus", namespace="a"), ComponentRef("prometheus", namespace="b"))
    assert merged.namespace == "b"
    assert merge_ref(ComponentRef("prometheus", namespace="a"), ComponentRef("prometheus")).namespace == "a"
