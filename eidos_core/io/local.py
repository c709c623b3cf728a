"""Local bytes: files (written atomically), stdin/stdout, and http(s) reads (stdlib only)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from eidos_core.errors import ForbiddenError, InvalidRequestError, NotFoundError, UnavailableError

HTTP_TIMEOUT_SECONDS = 30
MAX_READ_BYTES = 64 * 1024 * 1024


def read_file(path: str) -> bytes:
    try:
        size = os.stat(path).st_size
        if size > MAX_READ_BYTES:
            raise InvalidRequestError(f"{path}: file is {size} bytes; the limit is {MAX_READ_BYTES}")
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except PermissionError:
        raise ForbiddenError(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise InvalidRequestError(f"{path}: is a directory, expected a file") from None


def read_stdin() -> bytes:
    return sys.stdin.buffer.read()


def write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def write_file_atomic(path: str, data: bytes) -> None:
    """Write to a temp file beside ``path``, fsync, rename: readers see old or new, never half."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise NotFoundError(f"{path}: directory {str(directory)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except PermissionError:
        raise ForbiddenError(f"{path}: cannot write in {str(directory)!r} (permission denied)") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
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
