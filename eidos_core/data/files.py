"""Reading a recipe data set's files: a directory (plain, or a mounted ConfigMap) or the
embedded package data.

Conventions: a file or ConfigMap key ``a__b__c.yaml`` stands for ``a/b/c.yaml`` (ConfigMap keys
cannot hold ``/``). Names starting with ``.`` are skipped — the kubelet keeps a ConfigMap volume's
real files in ``..data`` / ``..<timestamp>`` and links the visible names into it. Symlinks
are followed only while they stay inside the data directory; files over 10 MiB are refused.
"""

from __future__ import annotations

import os
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from eidos_core.errors import NotFoundError, Problem, RecipeDataError

MAX_FILE_BYTES = 10 * 1024 * 1024
EMBEDDED_PACKAGE = "eidos_core.recipe_data"
FLAT_SEPARATOR = "__"


def unflatten(name: str) -> str:
    """``components__gpu-operator__values.yaml`` → ``components/gpu-operator/values.yaml``."""
    return name.replace(FLAT_SEPARATOR, "/")


def flatten(path: str) -> str:
    """The ConfigMap key for a data path (inverse of :func:`unflatten`)."""
    return path.replace("/", FLAT_SEPARATOR)


def _wanted(rel: str) -> bool:
    return rel == "registry.yaml" or rel.startswith(("overlays/", "components/"))


def read_directory(root: str | os.PathLike[str]) -> dict[str, bytes]:
    """All data files under ``root`` keyed by their (unflattened) relative path."""
    base = Path(root)
    if not base.exists():
        raise NotFoundError(f"recipe data directory {str(base)!r} does not exist")
    if not base.is_dir():
        raise RecipeDataError([Problem(str(base), "", "not a directory")])
    real_root = base.resolve()
    files: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    problems: list[Problem] = []
    visited: set[Path] = set()

    def walk(directory: Path, prefix: str) -> None:
        real = directory.resolve()
        if real in visited:
            return
        visited.add(real)
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            shown = prefix + entry.name
            target = Path(entry.path).resolve()
            if target != real_root and real_root not in target.parents:
                problems.append(Problem(shown, "", "symlink points outside the data directory; refused"))
                continue
            if target.is_dir():
                walk(Path(entry.path), shown + "/")
                continue
            if not target.is_file():
                continue
            rel = unflatten(shown)
            if not _wanted(rel):
                continue
            size = target.stat().st_size
            if size > MAX_FILE_BYTES:
                problems.append(Problem(shown, "", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}"))
                continue
            if rel in files:
                problems.append(Problem(shown, "", f"same data path {rel!r} as {origin[rel]}"))
                continue
            files[rel] = target.read_bytes()
            origin[rel] = shown

    walk(base, "")
    if problems:
        raise RecipeDataError(problems)
    return files


def fingerprint(root: str | os.PathLike[str]) -> tuple[tuple[str, int, int, int], ...]:
    """Cheap change detector (names, sizes, mtimes, inodes) for polling a directory.

    Resolving each entry also catches the kubelet's atomic ``..data`` symlink swap.
    """
    out: list[tuple[str, int, int, int]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.append((path, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def read_embedded() -> dict[str, bytes]:
    """The recipe data shipped inside the ``eidos-core`` distribution."""
    files: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name.startswith((".", "__")):
                continue
            rel = prefix + child.name
            if child.is_dir():
                walk(child, rel + "/")
            elif _wanted(rel):
                files[rel] = child.read_bytes()

    walk(resources.files(EMBEDDED_PACKAGE), "")
    return files


def read_mapping(entries: dict[str, bytes], origin: str) -> dict[str, bytes]:
    """Data files from flat keys (a ConfigMap's data): ``a__b.yaml`` → ``a/b.yaml``."""
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    for key in sorted(entries):
        rel = unflatten(key)
        if not _wanted(rel):
            continue
        if len(entries[key]) > MAX_FILE_BYTES:
            problems.append(Problem(f"{origin}:{key}", "", f"entry is larger than {MAX_FILE_BYTES} bytes"))
        elif rel in files:
            problems.append(Problem(f"{origin}:{key}", "", f"same data path {rel!r} as another key"))
        else:
            files[rel] = entries[key]
    if problems:
        raise RecipeDataError(problems)
    return files
