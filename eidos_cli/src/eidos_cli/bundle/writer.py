"""Writing a rendered bundle to a directory, safely.

Every path is checked first (relative, no ``..``, no empty or absolute segments); nothing is
written through a symlink or outside the output directory. The rules for the output
directory ``D``:

* ``D`` does not exist: the bundle is written to a temporary directory beside ``D`` and
  renamed into place, so ``D`` appears complete or not at all. Missing parents are created.
* ``D`` exists: the bundle is staged in a temporary directory inside ``D`` (same file
  system), then each file is moved into place with an atomic rename. Every bundle written
  leaves a ``.eidos-bundle`` record of its files and their sha256. Only files that record
  lists *and* that still have the recorded content count as ours: they may be replaced, and
  those the new bundle no longer has are removed (a stale ``templates/`` file would otherwise
  be installed with the new chart). Files of ``D`` that are not ours are left alone.
* A bundle file whose name exists in ``D`` but is not ours (someone's ``README.md``, a
  generated file edited by hand) refuses the write before anything is touched — unless it
  already holds exactly the new content. So does a name that is a directory or a symlink.

A failure while staging leaves ``D`` as it was. Files are mode 0600 — 0700 for scripts (content
starting with ``#!``: ``deploy.sh``), so they run as ``./deploy.sh`` — directories 0755.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from eidos_cli.bundle.checksums import checksums, parse_checksums
from eidos_cli.bundle.paths import check_relative
from eidos_core.errors import InvalidRequestError
from eidos_core.io.local import os_error

FILE_MODE = 0o600
SCRIPT_MODE = 0o700
DIR_MODE = 0o755
RECORD_FILE = ".eidos-bundle"  # what the last bundle written here was, in checksums.txt format


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
        mode = SCRIPT_MODE if files[rel].startswith(b"#!") else FILE_MODE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(files[rel])


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except FileNotFoundError:
        return None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ours(target: Path) -> dict[str, str]:
    """Files of an earlier bundle in ``target`` that still hold what it wrote (path → sha256)."""
    record = target / RECORD_FILE
    st = _lstat(record)
    if st is None or not stat.S_ISREG(st.st_mode):
        return {}
    ours: dict[str, str] = {}
    for rel, digest in parse_checksums(record.read_bytes()).items():
        try:
            check_relative(rel)
        except InvalidRequestError:
            continue  # a hand-edited or hostile record never steers a write or a delete
        path = target / rel
        st = _lstat(path)
        if st is not None and stat.S_ISREG(st.st_mode) and _bad_parent(target, rel) is None and _digest(path) == digest:
            ours[rel] = digest
    return ours


def _bad_parent(target: Path, rel: str) -> str | None:
    """The first parent of ``rel`` under ``target`` that exists but is not a real directory."""
    parts = rel.split("/")
    for i in range(1, len(parts)):
        st = _lstat(target.joinpath(*parts[:i]))
        if st is not None and not stat.S_ISDIR(st.st_mode):  # lstat: a symlink is not a directory
            return "/".join(parts[:i])
    return None


def _preflight(target: Path, files: Mapping[str, bytes], ours: Mapping[str, str]) -> None:
    for rel in sorted(files):
        bad = _bad_parent(target, rel)
        if bad is not None:
            raise InvalidRequestError(
                f"cannot write {rel} in {target}: {bad} is not a directory (or is a symlink); "
                "refusing to write through it"
            )
        path = target / rel
        st = _lstat(path)
        if st is None or rel in ours:
            continue
        if stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
            raise InvalidRequestError(f"cannot write {rel} in {target}: a directory or symlink has that name")
        if stat.S_ISREG(st.st_mode) and path.read_bytes() == files[rel]:
            continue  # already exactly this content
        raise InvalidRequestError(
            f"output directory {target} has a {rel} that no earlier bundle wrote there (or that was "
            "edited since); move it away or choose a new directory with --output"
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
        _stage(staging, {**files, RECORD_FILE: checksums(files)})
        staging.chmod(DIR_MODE)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_into(target: Path, files: Mapping[str, bytes]) -> None:
    ours = _ours(target)
    _preflight(target, files, ours)
    staging = Path(tempfile.mkdtemp(prefix=".eidos-bundle-", dir=target))
    try:
        _stage(staging, {**files, RECORD_FILE: checksums(files)})
        for rel in [*sorted(files), RECORD_FILE]:  # the record last: it vouches for the files
            dest = target.joinpath(*rel.split("/"))
            dest.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            os.replace(staging.joinpath(*rel.split("/")), dest)
        _remove_stale(target, set(ours) - set(files))
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
        # One readable line (permissions, a full disk) with its exit code, not a traceback.
        where = f" ({exc.filename})" if exc.filename else ""
        raise os_error(exc, f"cannot write the bundle to {target}{where}") from exc
    return target
