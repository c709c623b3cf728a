"""``checksums.txt``: one ``<sha256>  <path>`` line per file, sorted by path.

The format is what ``sha256sum -c`` / ``shasum -a 256 -c`` read from inside the bundle
directory (two spaces: text mode). Sorting makes the file independent of render order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from eidos_cli.bundle.paths import check_relative

CHECKSUMS_FILE = "checksums.txt"


def checksums(files: Mapping[str, bytes]) -> bytes:
    """The checksums file for ``files`` (relative path → content); no files gives ``\\n``."""
    lines = []
    for path in sorted(files):
        check_relative(path)
        lines.append(f"{hashlib.sha256(files[path]).hexdigest()}  {path}")
    return ("\n".join(lines) + "\n").encode()


def parse_checksums(data: bytes) -> dict[str, str]:
    """Path → hex digest from a checksums file; lines that are not ours are skipped."""
    out: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        digest, sep, path = line.partition("  ")
        if sep and len(digest) == 64 and path:
            out[path] = digest
    return out
