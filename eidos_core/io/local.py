"""Local bytes: files (written atomically), stdin/stdout, and http(s) reads (stdlib only)."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from eidos_core.errors import EidosError, ForbiddenError, InvalidRequestError, NotFoundError, UnavailableError

HTTP_TIMEOUT_SECONDS = 30
MAX_READ_BYTES = 64 * 1024 * 1024


def os_error(exc: OSError, what: str) -> EidosError:
    """A file-system failure as one line with the matching exit code (3, 4, 2 or 6)."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return NotFoundError(f"{what}: {reason}")
    if isinstance(exc, PermissionError):
        return ForbiddenError(f"{what}: {reason}")
    if isinstance(exc, IsADirectoryError):
        return InvalidRequestError(f"{what}: is a directory, expected a file")
    return UnavailableError(f"{what}: {reason}")  # a full disk, a read-only file system, I/O errors


def read_file(path: str) -> bytes:
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            # A FIFO or a device could be read without end; documents are regular files.
            raise InvalidRequestError(f"{path}: not a regular file")
        if st.st_size > MAX_READ_BYTES:
            raise InvalidRequestError(f"{path}: file is {st.st_size} bytes; the limit is {MAX_READ_BYTES}")
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except OSError as exc:
        raise os_error(exc, path) from None


def read_stdin() -> bytes:
    # Bounded like a file: a pipe that never ends must not grow memory without end.
    data = sys.stdin.buffer.read(MAX_READ_BYTES + 1)
    if len(data) > MAX_READ_BYTES:
        raise InvalidRequestError(f"-: standard input is longer than {MAX_READ_BYTES} bytes")
    return data


def write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _new_file_mode() -> int:
    # What open(path, "w") would give: 0666 less the umask (read and restored: no other API).
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_file_atomic(path: str, data: bytes, mode: int | None = None) -> None:
    """Write to a temp file beside ``path``, fsync, rename: readers see old or new, never half.

    A symlink at ``path`` is followed (its target is replaced), and a new file gets the mode
    the umask allows, as a plain write would; ``mode`` sets it instead, new file or not.
    """
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise NotFoundError(f"{path}: directory {str(directory)!r} does not exist")
    if target.is_dir():
        raise InvalidRequestError(f"{path}: is a directory; give a file name")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise os_error(exc, f"{path}: cannot write in {str(directory)!r}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is None:
            mode = target.stat().st_mode & 0o777 if target.exists() else _new_file_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise os_error(exc, path) from None
        raise


def read_http(url: str) -> bytes:
    import urllib.error  # only http(s) reads need it; keeps CLI start-up lean
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "eidos"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as resp:
            data: bytes = resp.read(MAX_READ_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise NotFoundError(f"{url}: 404 Not Found") from None
        if exc.code in (401, 403):
            raise ForbiddenError(f"{url}: {exc.code} {exc.reason}") from None
        raise UnavailableError(f"{url}: {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UnavailableError(f"{url}: unreachable ({reason})") from None
    if len(data) > MAX_READ_BYTES:
        raise InvalidRequestError(f"{url}: response is larger than {MAX_READ_BYTES} bytes")
    return data
