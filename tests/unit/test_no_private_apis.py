"""Our code uses other libraries through their public APIs only.

An ``ast`` scan of every source tree we ship or run (eidos_core, eidosd, eidos_cli, eidos_agent,
bench) for a name with a leading underscore reached on something that is not ours:

* attribute access ``x._name`` (or ``x.__name``), unless ``x`` is ``self`` or ``cls``, or a
  chain that starts at a name imported from our own packages (``yaml._x`` after
  ``from eidos_core import yaml``);
* the same through ``getattr``/``setattr``/``hasattr``/``delattr`` with a literal name;
* ``from lib import _name`` and imports of private modules (``lib._impl``) outside our packages.

Dunders (``__name__``) are public protocol. Annotations are not checked in modules with
``from __future__ import annotations``: they are never evaluated, and typeshed gives some
argparse types no public name (``argparse._SubParsersAction`` in ``register(sub: …)``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TREES = ("eidos_core", "eidosd/src", "eidos_cli/src", "eidos_agent/src", "bench")
OURS = frozenset({"eidos_core", "eidosd", "eidos_cli", "eidos_agent", "bench", "tests"})
SELF = frozenset({"self", "cls"})
# Underscored names that are documented public API: namedtuple's methods and attributes carry
# the underscore only so they cannot clash with field names (docs: collections.namedtuple).
PUBLIC_UNDERSCORED = frozenset({"_replace", "_asdict", "_fields", "_field_defaults", "_make"})
# (path relative to the repository, finding) pairs let through, each with its reason.
ALLOWED: frozenset[tuple[str, str]] = frozenset()
REFLECTION = frozenset({"getattr", "setattr", "hasattr", "delattr"})


def is_private(name: str) -> bool:
    return (
        name.startswith("_") and not (name.startswith("__") and name.endswith("__")) and name not in PUBLIC_UNDERSCORED
    )


def is_ours(module: str) -> bool:
    return module.split(".")[0] in OURS


def own_names(tree: ast.Module) -> set[str]:
    """Names bound by importing from our own packages, anywhere in the module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if is_ours(alias.name):
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module and is_ours(node.module))):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def annotation_nodes(tree: ast.Module) -> set[int]:
    """ids of every node inside an annotation, when annotations are never evaluated."""
    postponed = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(a.name == "annotations" for a in node.names)
        for node in tree.body
    )
    if not postponed:
        return set()
    roots: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            every = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
            roots.extend(arg.annotation for arg in every if arg.annotation)
            if node.returns:
                roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return {id(inner) for root in roots for inner in ast.walk(root)}


def root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def findings(source: str, path: str = "<test>") -> Iterator[str]:
    tree = ast.parse(source, path)
    own = own_names(tree)
    skip = annotation_nodes(tree)

    def foreign(base: ast.expr) -> bool:
        name = root_name(base)
        if isinstance(base, ast.Name) and base.id in SELF:
            return False
        return name is None or name not in own

    def found(node: ast.AST, text: str) -> Iterator[str]:
        if (path, text) not in ALLOWED:
            yield f"{path}:{getattr(node, 'lineno', '?')}: {text}"

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in skip:
            if is_private(node.attr) and foreign(node.value):
                yield from found(node, ast.unparse(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in REFLECTION:
            name = node.args[1].value if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) else None
            if isinstance(name, str) and is_private(name) and foreign(node.args[0]):
                yield from found(node, ast.unparse(node))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and not is_ours(node.module):
            private_module = any(is_private(part) for part in node.module.split("."))
            for alias in node.names:
                if private_module or is_private(alias.name):
                    yield from found(node, f"from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if not is_ours(alias.name) and any(is_private(part) for part in alias.name.split(".")):
                    yield from found(node, f"import {alias.name}")


def sources() -> list[Path]:
    files = sorted(p for tree in TREES for p in (REPO / tree).rglob("*.py") if ".egg-info" not in p.parts)
    assert len(files) > 100, "the source trees moved?"
    return files


def test_our_sources_use_no_private_names_of_other_code() -> None:
    found = [f for path in sources() for f in findings(path.read_text(), str(path.relative_to(REPO)))]
    assert not found, "private names of other code:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "bucket._level += 1",
        "level = self._bucket._level",
        "size = request.app._client_max_size",
        "actions = parser._actions",
        "import argparse\nisinstance(a, argparse._SubParsersAction)",
        "server = site._server",
        "x = super()._private()",
        "x = getattr(site, '_server')",
        "from argparse import _SubParsersAction",
        "from aiohttp._http_parser import HttpRequestParser",
        "import aiohttp._websocket",
        "x = other.__mangled",
        # an annotation is evaluated at run time without the __future__ import
        "import argparse\ndef f(sub: argparse._SubParsersAction) -> None: ...",
        # importing something of ours does not make everything else ours
        "from eidos_core import yaml\nx = parser._actions",
    ],
)
def test_scanner_catches(source: str) -> None:
    assert list(findings(source)), source


@pytest.mark.parametrize(
    "source",
    [
        "self._level += 1",
        "cls._cache.clear()",
        "from eidos_core import yaml\nyaml._loader()",
        "import eidos_core.io.uri\neidos_core.io.uri._KEY",
        "from .sibling import helper\nhelper._x",
        "name = handler.__name__",
        "point = p._replace(x=1)",
        "x = getattr(obj, 'public')",
        "from __future__ import annotations\nimport argparse\ndef f(sub: argparse._SubParsersAction) -> None: ...",
        "from __future__ import annotations\nimport argparse\nx: argparse._ActionsContainer",
    ],
)
def test_scanner_allows(source: str) -> None:
    assert not list(findings(source)), source
