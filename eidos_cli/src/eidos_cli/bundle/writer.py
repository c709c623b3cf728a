"""Writing a rendered bundle to a directory, safely.

Every path is checked first (relative, no ``..``, no empty or absolute segments); nothing is
written through a symlink or outside the output directory. The rules for the output
directory ``D``:

* ``D`` does not exist: the bundle is written to a temporary directory beside ``D`` and
  renamed into place, so ``D`` appears complete or not at all. Missing parents are created.
* ``D`` exists: the bundle is staged in a temporary directory inside ``D`` (same file
  system), then each file is moved into place with an atomic rename. Files of ``D`` that the
  bundle does not produce are left alone, except that when ``D`` holds an earlier bundle
  (a ``checksums.txt``), the files that bundle listed and this one does not are removed — a
  stale ``templates/`` file would otherwise be installed with the new chart.
* A bundle file whose name already exists in ``D`` is replaced only when ``D`` holds an
  earlier bundle. Otherwise the write is refused before anything is touched (the directory
  holds someone else's ``README.md`` or ``values.yaml``), and so is a bundle file whose name
  is a directory or a symlinked directory in ``D``.

A failure while staging leaves ``D`` as it was. Files are mode 0600, directories 0755.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from eidos_cli.bundle.checksums import CHECKSUMS_FILE, parse_checksums
from eidos_cli.bundle.paths import check_relative
from eidos_core.errors import EidosError, InvalidRequestError

FILE_MODE = 0o600
DIR_MODE = 0o755


def _check_paths(files: Mapping[str, bytes]) -> None:
    for path in files:
        check_relative(path, what="bundle path")
    dirs = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    clash = sorted(dirs & set(files))
    if clash:
        raise InvalidRequestError(f"bundle path {clash[0]!r} is both a file and a directory")


def _stage(root: Path, files: Mapping[str, bytes]) -> None:
    for rel in sorted(files):
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(files[rel])


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except FileNotFoundError:
        return None


def _previous_bundle(target: Path) -> set[str] | None:
    """The paths an earlier bundle in ``target`` listed, or None when it holds no bundle."""
    marker = target / CHECKSUMS_FILE
    st = _lstat(marker)
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    listed = set()
    for rel in parse_checksums(marker.read_bytes()):
        try:
            listed.add(check_relative(rel))
        except InvalidRequestError:
            continue  # a hand-edited or hostile checksums.txt never steers a delete
    return listed


def _bad_parent(target: Path, rel: str) -> str | None:
    """The first parent of ``rel`` under ``target`` that exists but is not a real directory."""
    parts = rel.split("/")
    for i in range(1, len(parts)):
        st = _lstat(target.joinpath(*parts[:i]))
        if st is not None and not stat.S_ISDIR(st.st_mode):  # lstat: a symlink is not a directory
            return "/".join(parts[:i])
    return None


def _preflight(target: Path, files: Mapping[str, bytes], previous: set[str] | None) -> None:
    for rel in sorted(files):
        bad = _bad_parent(target, rel)
        if bad is not None:
            raise InvalidRequestError(
                f"cannot write {rel} in {target}: {bad} is not a directory (or is a symlink); "
                "refusing to write through it"
            )
        st = _lstat(target / rel)
        if st is None:
            continue
        if stat.S_ISDIR(st.st_mode):
            raise InvalidRequestError(f"cannot write {rel} in {target}: a directory has that name")
        if previous is None:
            raise InvalidRequestError(
                f"output directory {target} already has {rel} and holds no earlier bundle "
                f"(no {CHECKSUMS_FILE}); choose a new or empty directory with --output"
            )


def _remove_stale(target: Path, stale: set[str]) -> None:
    for rel in sorted(stale):
        path = target / rel
        st = _lstat(path)
        # Only regular files reached through real directories: never follow a link out.
        if st is None or not stat.S_ISREG(st.st_mode) or _bad_parent(target, rel) is not None:
            continue
        path.unlink()
        parent = path.parent
        while parent != target:
            try:
                parent.rmdir()  # only when now empty
            except OSError:
                break
            parent = parent.parent


def _write_new(target: Path, files: Mapping[str, bytes]) -> None:
    target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.eidos-", dir=target.parent))
    try:
        _stage(staging, files)
        staging.chmod(DIR_MODE)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_into(target: Path, files: Mapping[str, bytes]) -> None:
    previous = _previous_bundle(target)
    _preflight(target, files, previous)
    staging = Path(tempfile.mkdtemp(prefix=".eidos-bundle-", dir=target))
    try:
        _stage(staging, files)
        for rel in sorted(files):
            dest = target.joinpath(*rel.split("/"))
            dest.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            os.replace(staging.joinpath(*rel.split("/")), dest)
        if previous:
            _remove_stale(target, previous - set(files))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_bundle(files: Mapping[str, bytes], output: str | os.PathLike[str]) -> Path:
    """Write ``files`` (relative path → content) under ``output`` by the module's rules."""
    _check_paths(files)
    target = Path(output)
    if not str(output).strip():
        target = Path(".")
    try:
        st = _lstat(target)
        if st is None:
            _write_new(target.absolute(), files)
        elif target.is_dir():  # a symlink to a directory is used as that directory
            _write_into(target, files)
        else:
            raise InvalidRequestError(f"output {target} exists and is not a directory")
    except OSError as exc:
        # One readable line (permissions, a full disk) instead of a traceback.
        where = f": {exc.filename}" if exc.filename else ""
        raise EidosError(f"cannot write the bundle to {target}: {exc.strerror or exc}{where}") from exc
    return target
