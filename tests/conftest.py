"""Shared fixtures: the reference data in ../shared (skipped cleanly when absent) and
helpers to write small recipe data sets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from eidos_core import yaml
from eidos_core.data.load import load_store
from eidos_core.recipe.model import RecipeStore

# The emulated kube-apiserver (``kube`` fixture) for tests that talk to Kubernetes; the real helm and
# chart packages (tests/charts.py); ``run_eidosd`` for eidosd processes (tests/support.py); a real OCI
# registry on 127.0.0.1 (tests/registry.py).
pytest_plugins = ["tests.kube.plugin", "tests.charts", "tests.support", "tests.registry"]

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference is not present")
    return REFERENCE


@pytest.fixture(scope="session")
def reference_data(reference_dir: Path) -> Path:
    return reference_dir / "recipe-data"


MINI_REGISTRY = {
    "apiVersion": "eidos.nvidia.com/v1alpha1",
    "kind": "ComponentRegistry",
    "components": [
        {
            "name": "a",
            "displayName": "a",
            "helm": {"defaultRepository": "https://charts.example/a", "defaultVersion": "1.0.0"},
        },
        {"name": "b", "displayName": "b", "helm": {"defaultRepository": "https://charts.example/b"}},
        {
            "name": "c",
            "displayName": "c",
            "kustomize": {"defaultSource": "https://git.example/c", "defaultPath": "deploy", "defaultTag": "v1"},
        },
    ],
}


def metadata_doc(name: str, spec: Mapping[str, object]) -> dict[str, object]:
    return {
        "kind": "recipeMetadata",
        "apiVersion": "eidos.nvidia.com/v1alpha1",
        "metadata": {"name": name},
        "spec": spec,
    }


def mini_files(**overlays: dict[str, object]) -> dict[str, bytes]:
    """A tiny valid data set; each keyword adds ``overlays/<name>.yaml`` with that spec."""
    files = {
        "registry.yaml": yaml.dump(MINI_REGISTRY).encode(),
        "overlays/base.yaml": yaml.dump(
            metadata_doc(
                "base",
                {
                    "constraints": [{"name": "K8s.server.version", "value": ">= 1.28"}],
                    "componentRefs": [
                        {"name": "a", "type": "Helm", "valuesFile": "components/a/values.yaml"},
                        {"name": "b", "type": "Helm", "version": "2.0.0", "dependencyRefs": ["a"]},
                    ],
                },
            )
        ).encode(),
        "components/a/values.yaml": b"replicas: 1\nimage: {tag: v1}\n",
    }
    for name, spec in overlays.items():
        files[f"overlays/{name}.yaml"] = yaml.dump(metadata_doc(name, spec)).encode()
    return files


@pytest.fixture
def make_store() -> Callable[..., RecipeStore]:
    def make(**overlays: dict[str, object]) -> RecipeStore:
        return load_store(mini_files(**overlays), source="test")

    return make
