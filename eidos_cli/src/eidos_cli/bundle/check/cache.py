"""An on-disk cache for ``bundle check``'s expensive, deterministic work.

A CI pipeline that checks many bundles renders the same step again and again: the same chart
with the same values into the same namespace for the same cluster. Two things are cached, each
under the sha256 of exactly what decides its result:

* ``render``: one chart step — the unknown-key findings and the objects ``helm template``
  rendered — keyed by :class:`RenderInputs` (the chart package's bytes, its name and version,
  release name, namespace, values bytes, Kubernetes version, the ``--api-versions`` set and
  the helm version). Only successful renders are stored: a failure (a timeout, a chart helm
  refuses) is recomputed next time, so a flaky run never sticks;
* ``builtin-schema``: kubernetes-validate's verdict on one step's built-in objects, keyed by the
  Kubernetes version, kubernetes-validate's version and the objects themselves.

Entries are JSON files written atomically (a temporary file in the same directory, then
``os.replace``), so concurrent checks sharing a directory never read half an entry. An entry
that does not parse, or has the wrong shape, is treated as missing and rewritten. The cache is
off unless ``--cache DIR`` or ``EIDOS_CHECK_CACHE`` names a directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_ENV = "EIDOS_CHECK_CACHE"
# Bumped whenever what an entry holds, or how it is computed, changes: old entries are then
# simply never looked up again.
FORMAT = 1


def digest(value: Any) -> str:
    """sha256 of ``value`` as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes; a chart directory (unpacked chart) hashes every file in it."""
    h = hashlib.sha256()
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(item.relative_to(path).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(item.read_bytes()).digest())
    else:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class RenderInputs:
    """Everything ``helm template`` (and the unknown-key check) of one step depends on."""

    chart: str
    version: str
    package: str  # sha256 of the chart package: same name and version from elsewhere may differ
    release: str  # the step's component: templates name objects after the release
    namespace: str
    values: bytes | None  # the values file's bytes, None without one
    kube_version: str
    api_versions: tuple[str, ...]  # exactly the --api-versions given to helm, in order
    helm: str  # `helm version` output: another helm may render differently

    def key(self) -> str:
        values = None if self.values is None else hashlib.sha256(self.values).hexdigest()
        return digest(
            {
                "format": FORMAT,
                "chart": self.chart,
                "version": self.version,
                "package": self.package,
                "release": self.release,
                "namespace": self.namespace,
                "values": values,
                "kube": self.kube_version,
                "apiVersions": list(self.api_versions),
                "helm": self.helm,
            }
        )


class CheckCache:
    """JSON entries under ``root/<kind>/<key[:2]>/<key>.json``.

    ``hits`` and ``misses`` count lookups (per kind), so a run can say what it reused.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits: dict[str, int] = {}
        self.misses: dict[str, int] = {}

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key: str, valid: Callable[[Any], bool]) -> Any:
        """The stored value, or None when absent, unreadable or not ``valid`` (then it is recomputed)."""
        value: Any = None
        try:
            value = json.loads(self._path(kind, key).read_bytes())
        except (OSError, ValueError):
            value = None
        if value is not None and not valid(value):
            value = None
        bucket = self.hits if value is not None else self.misses
        bucket[kind] = bucket.get(kind, 0) + 1
        return value

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store atomically; a cache that cannot be written only costs the next run the work."""
        path = self._path(kind, key)
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def from_option(option: str | None) -> CheckCache | None:
    """``--cache DIR`` if given, else ``EIDOS_CHECK_CACHE`` if set and non-empty, else no cache."""
    where = option if option else os.environ.get(CACHE_ENV, "").strip()
    return CheckCache(Path(where).expanduser()) if where else None
