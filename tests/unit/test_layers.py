"""eidos_core's packages form layers: each imports only the ones below it (read with ast, so an
import inside a function or under TYPE_CHECKING counts too). The recipe engine is a leaf above
the codec: it knows nothing of snapshots, validation, data files or I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "eidos_core"

# Lowest first. "" is the package root (eidos_core/__init__.py, errors.py, durations.py).
LAYERS = ("", "yaml", "codec", "recipe", "snapshot", "validate", "diff", "data", "resolve", "kube", "io", "sources")


def package_of(path: Path) -> str:
    parts = path.relative_to(CORE).parts
    return parts[0] if len(parts) > 1 else ""


def imported_packages(path: Path) -> set[str]:
    """The eidos_core packages ``path`` imports ("" for the root modules)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; write eidos_core.… so this test sees it")
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "eidos_core":
                sub = parts[1] if len(parts) > 1 else ""
                found.add("" if sub in ("errors", "durations") else sub)
    return found


MODULES = sorted(p for p in CORE.rglob("*.py") if "recipe_data" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_each_module_imports_only_lower_layers(path: Path) -> None:
    own = package_of(path)
    assert own in LAYERS, f"new package {own!r}: give it a place in LAYERS"
    above = {p for p in imported_packages(path) if LAYERS.index(p) > LAYERS.index(own)}
    assert not above, f"{path.relative_to(CORE)} imports {sorted(above)}, above its layer {own!r}"


def test_the_recipe_engine_is_a_leaf() -> None:
    imported = set().union(*(imported_packages(p) for p in (CORE / "recipe").glob("*.py")))
    assert imported <= {"", "yaml", "codec", "recipe"}, imported
    assert not imported & {"snapshot", "validate", "data", "resolve", "io", "kube", "sources"}


def test_the_layer_check_sees_imports_in_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from eidos_core.snapshot.model import Snapshot\n    import eidos_core.validate\n")
    assert imported_packages(module) == {"snapshot", "validate"}
