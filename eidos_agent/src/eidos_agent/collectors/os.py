"""OS collector: the ``OS`` measurement from files under a root directory.

Subtypes (names and keys as in the Go reference): ``grub`` — the kernel command line from
``/proc/cmdline`` (``root=`` removed); ``sysctl`` — every readable entry under ``/proc/sys`` except
``net``, ``dev/cdrom`` and ``kernel/random/uuid``, keyed by its absolute path as seen on the node
(``/proc/sys/vm/swappiness``);
``kmod`` — loaded modules from ``/proc/modules`` (``name: true``); ``release`` — ``/etc/os-release``
(else ``/usr/lib/os-release``), plus our lowercase keys ``source`` (``host`` or ``container``),
``source-root``, ``proc-root`` and ``kernel`` (the kernel release).

The root is the host's when it is mounted (``--host-root /host``; the agent's host variant mounts
only the node's ``/etc/os-release`` there, so ``/proc`` then comes from the container, which shows
the node's kernel-wide values), else ``/`` — the container's ``/etc/os-release``, which is why
``source`` says which one was read. Symlinks under
a host root are resolved inside that root, so ``/host/etc/os-release -> /usr/lib/os-release`` never
reads the container's file. A source that cannot be read drops its subtype and adds a note.

Differences from the reference (its bugs): ``#`` is not a comment in ``/proc`` files
(``kernel/version`` keeps its value); double-quoted command-line values keep their spaces; one
unreadable ``/proc/sys`` directory is skipped instead of failing everything; the walk is bounded.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from eidos_agent.collectors.base import CollectorResult
from eidos_core.snapshot.model import Measurement, Reading, Subtype

MEASUREMENT_TYPE = "OS"
MAX_FILE_BYTES = 1 << 20  # os-release, cmdline, modules: the reference's parser limit
MAX_SYSCTL_BYTES = 64 << 10  # real sysctl values are a few bytes; anything larger is not a setting
MAX_SYSCTL_ENTRIES = 20_000  # a kernel has a few thousand without net/; stop well before runaway
MAX_SYSCTL_DEPTH = 16
SYSCTL_PREFIX = "/proc/sys"
# net/ is per network namespace (the pod's, not the node's) and huge; dev/cdrom describes a drive;
# kernel/random/uuid is a fresh random value on every read (noise that makes no two snapshots equal).
_SYSCTL_SKIP = frozenset({"net", "dev/cdrom", "kernel/random/uuid"})
_CMDLINE_DROPPED = frozenset({"root"})  # names a disk; the reference removes it too
_OS_RELEASE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_SYMLINKS = 16
# Keys the collector adds to "release" itself (not from os-release).
_BOOKKEEPING = frozenset({"source", "source-root", "proc-root", "kernel"})


class OsReadError(Exception):
    """A source file that could not be read; the message names the file and why."""


# ---------------------------------------------------------------- pure parsing


def parse_os_release(text: str) -> dict[str, str]:
    """``os-release(5)``: ``KEY=value`` lines with shell-style quoting; comments and blank lines
    ignored, malformed lines and empty values dropped (as the reference does)."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not _OS_RELEASE_KEY.fullmatch(key):
            continue
        value = _unquote(value.strip())
        if value:
            result[key] = value
    return result


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]  # single quotes: everything literal
    if len(value) >= 2 and value[0] == value[-1] == '"':
        # double quotes: backslash escapes only $ " \ ` (the shell's rule)
        return re.sub(r'\\([$"\\`])', r"\1", value[1:-1])
    return value.strip("\"'")  # unbalanced: keep the text, lose the stray quote


def parse_cmdline(text: str) -> dict[str, str]:
    """Kernel parameters: ``key=value`` or bare ``flag`` (value ``""``), split at whitespace outside
    double quotes, quotes removed. Arguments after ``--`` belong to init and are ignored; ``root``
    is dropped. A repeated parameter keeps its last value."""
    params: dict[str, str] = {}
    for token in _cmdline_tokens(text):
        if token == "--":
            break
        key, _, value = token.partition("=")
        if key and key not in _CMDLINE_DROPPED:
            params[key] = value
    return params


def _cmdline_tokens(text: str) -> Iterator[str]:
    token: list[str] = []
    quoted = False
    started = False
    for char in text:
        if char == '"':
            quoted = not quoted
            started = True
        elif char.isspace() and not quoted:
            if started:
                yield "".join(token)
            token, started = [], False
        else:
            token.append(char)
            started = True
    if started:
        yield "".join(token)


def parse_modules(text: str) -> dict[str, bool]:
    """``/proc/modules``: the first field of each line is a loaded module."""
    modules: dict[str, bool] = {}
    for line in text.splitlines():
        fields = line.split()
        if fields:
            modules[fields[0]] = True
    return modules


def parse_sysctl_value(key: str, text: str) -> dict[str, str]:
    """The readings of one ``/proc/sys`` file named ``key``.

    Lines are trimmed and blank lines dropped. A file of several ``name value…`` lines (e.g.
    ``sunrpc/transports``) becomes one reading per line, ``<key>/<name>``; anything else is one
    reading with the lines joined by newlines (``""`` for an empty file).
    """
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    if len(lines) > 1 and all(len(line.split()) >= 2 for line in lines):
        result: dict[str, str] = {}
        for line in lines:
            name, rest = line.split(None, 1)
            result[f"{key}/{name}"] = " ".join(rest.split())
        return result
    return {key: "\n".join(lines)}


# ---------------------------------------------------------------- reading files


def resolve_in_root(root: Path, path: str) -> Path:
    """``path`` (absolute, as on the node) under ``root``, following symlinks without leaving it:
    an absolute link target restarts at ``root`` and ``..`` stops there."""
    pending = list(PurePosixPath(path).parts[1:])
    current = root
    links = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if current != root:
                current = current.parent
            continue
        candidate = current / part
        if not candidate.is_symlink():
            current = candidate
            continue
        links += 1
        if links > _MAX_SYMLINKS:
            raise OSError(errno.ELOOP, "too many levels of symbolic links", str(root / path.lstrip("/")))
        target = PurePosixPath(os.readlink(candidate))
        if target.is_absolute():
            current = root
            pending[:0] = target.parts[1:]
        else:
            pending[:0] = target.parts
    return current


def read_text(path: Path, *, limit: int = MAX_FILE_BYTES) -> str:
    """A small regular file, whole; ``OsReadError`` when unreadable, not a regular file (a FIFO
    would block the read), too large or not UTF-8."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise OsReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise OsReadError(f"{path} is not a regular file")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise OsReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise OsReadError(f"{path} is larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise OsReadError(f"{path} is not valid UTF-8") from None


def read_os_release(root: Path) -> dict[str, str]:
    """``/etc/os-release``, or ``/usr/lib/os-release`` when the first does not exist."""
    path = resolve_in_root(root, "/etc/os-release")
    if not path.exists():
        path = resolve_in_root(root, "/usr/lib/os-release")
    return parse_os_release(read_text(path))


def read_sysctl(
    proc: Path,
    *,
    max_entries: int = MAX_SYSCTL_ENTRIES,
    max_bytes: int = MAX_SYSCTL_BYTES,
) -> tuple[dict[str, str], list[str]]:
    """Every readable ``<proc>/sys`` entry (keys as ``/proc/sys/…``) and notes on what was left out.

    Unreadable entries (write-only, permission denied, EIO) are skipped silently: that is normal
    for ``/proc/sys``. A directory that cannot be listed, or reaching ``max_entries``, is noted.
    """
    readings: dict[str, str] = {}
    notes: list[str] = []
    top = proc / "sys"
    if not top.is_dir():
        raise OsReadError(f"{top} is not a directory")
    stack: list[tuple[Path, str, int]] = [(top, SYSCTL_PREFIX, 0)]
    seen = 0
    while stack:
        directory, key_dir, depth = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            notes.append(f"sysctl: cannot list {key_dir}: {exc.strerror or exc}")
            continue
        subdirs: list[tuple[Path, str, int]] = []
        for entry in entries:
            key = f"{key_dir}/{entry.name}"
            if key[len(SYSCTL_PREFIX) + 1 :] in _SYSCTL_SKIP:
                continue
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if depth + 1 < MAX_SYSCTL_DEPTH:
                        subdirs.append((Path(entry.path), key, depth + 1))
                    continue
            except OSError:
                continue
            if seen >= max_entries:
                notes.append(f"sysctl: stopped after {max_entries} entries")
                return readings, notes
            seen += 1
            try:
                text = read_text(Path(entry.path), limit=max_bytes)
            except OsReadError:
                continue
            readings.update(parse_sysctl_value(key, text))
        stack.extend(reversed(subdirs))  # depth-first, in name order
    return readings, notes


def kernel_release(proc: Path) -> str:
    """The running kernel's release (``uname -r``), from ``<proc>/sys/kernel/osrelease``."""
    return read_text(proc / "sys" / "kernel" / "osrelease", limit=4096).strip()


def collect_os(root: Path, *, proc: Path | None = None, source: str = "container") -> tuple[Measurement, list[str]]:
    """The ``OS`` measurement read from ``root`` (and ``proc``, default ``<root>/proc``), with notes
    on each source that could not be read. Synchronous: run it in a thread."""
    proc = proc if proc is not None else root / "proc"
    notes: list[str] = []
    subtypes: list[Subtype] = []

    try:
        subtypes.append(Subtype("grub", parse_cmdline(read_text(proc / "cmdline"))))
    except OsReadError as exc:
        notes.append(f"grub: {exc}")
    try:
        sysctl, sysctl_notes = read_sysctl(proc)
        subtypes.append(Subtype("sysctl", sysctl))
        notes.extend(sysctl_notes)
    except OsReadError as exc:
        notes.append(f"sysctl: {exc}")
    try:
        subtypes.append(Subtype("kmod", parse_modules(read_text(proc / "modules"))))
    except OsReadError as exc:
        notes.append(f"kmod: {exc}")

    release: dict[str, Reading] = {}
    try:
        release.update(read_os_release(root))
    except (OsReadError, OSError) as exc:
        notes.append(f"release: {exc}")
    try:
        release["kernel"] = kernel_release(proc)
    except OsReadError as exc:
        notes.append(f"kernel: {exc}")
    # Ours (_BOOKKEEPING), lowercase so they cannot collide with os-release's upper-case keys.
    release.update({"source": source, "source-root": str(root), "proc-root": str(proc)})
    subtypes.append(Subtype("release", release))
    return Measurement(MEASUREMENT_TYPE, tuple(subtypes)), notes


# ---------------------------------------------------------------- the collector


def choose_root(host_root: Path | None, fallback: Path = Path("/")) -> tuple[Path, str, str | None]:
    """``(root, source, note)``: the host root when it is mounted (has ``etc`` or ``proc``), else
    ``fallback`` (the container's own files), with a note saying why the host root was not used."""
    if host_root is None:
        return fallback, "container", None
    if (host_root / "etc").is_dir() or (host_root / "proc").is_dir():
        return host_root, "host", None
    return fallback, "container", f"host root {host_root} is not mounted; read the container's files under {fallback}"


@dataclass(slots=True)
class OsCollector:
    """Reads the node's OS facts from ``host_root`` when it is mounted, else from ``fallback_root``.

    ``/proc`` is taken from the chosen root; when that root has none (a host mount without its
    submounts), from ``fallback_root`` — command line, modules and non-network sysctls are
    kernel-wide, so the container's ``/proc`` shows the node's values.
    """

    host_root: Path | str | None = None
    fallback_root: Path = field(default_factory=lambda: Path("/"))
    name: str = "os"

    def __post_init__(self) -> None:
        # Straight from a flag or an environment variable: "" means "no host root given".
        if isinstance(self.host_root, str):
            self.host_root = Path(self.host_root) if self.host_root else None

    async def collect(self) -> CollectorResult:
        host_root = Path(self.host_root) if self.host_root is not None else None
        root, source, root_note = choose_root(host_root, self.fallback_root)
        proc = root / "proc"
        notes = [root_note] if root_note else []
        if not (proc / "cmdline").exists() and (self.fallback_root / "proc" / "cmdline").exists():
            proc = self.fallback_root / "proc"
        measurement, read_notes = await asyncio.to_thread(collect_os, root, proc=proc, source=source)
        notes.extend(read_notes)
        skipped = None
        release = measurement.subtype("release")
        if len(measurement.subtypes) == 1 and release is not None and set(release.data) <= _BOOKKEEPING:
            skipped = f"no OS information readable under {root}"
        return CollectorResult(self.name, measurement, skipped_reason=skipped, notes=tuple(notes))
