"""The one URI parser of Eidos: ``-`` (stdin/stdout), file paths, ``cm://namespace/name[/key]``
and ``http(s)://`` (read only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from eidos_core.errors import InvalidRequestError

# RFC 1123 label (namespaces) and subdomain (ConfigMap names), as the API server checks them.
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KEY = re.compile(r"[-._a-zA-Z0-9]+")


class Scheme(Enum):
    STDIO = "stdio"
    FILE = "file"
    CONFIGMAP = "configmap"
    HTTP = "http"


@dataclass(frozen=True, slots=True)
class Location:
    scheme: Scheme
    path: str = ""  # file path or URL
    namespace: str = ""
    name: str = ""
    key: str = ""  # optional ConfigMap data key

    def __str__(self) -> str:
        if self.scheme is Scheme.STDIO:
            return "-"
        if self.scheme is Scheme.CONFIGMAP:
            return f"cm://{self.namespace}/{self.name}" + (f"/{self.key}" if self.key else "")
        return self.path


def parse_uri(text: str) -> Location:
    raw = text.strip()
    if raw in ("", "-"):
        return Location(Scheme.STDIO)
    if raw.startswith("cm://"):
        return _configmap(raw)
    if raw.startswith(("http://", "https://")):
        return Location(Scheme.HTTP, path=raw)
    other = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*)://", raw)
    if other:
        scheme = other.group(1)
        raise InvalidRequestError(
            f"unsupported URI scheme {scheme!r} in {raw!r} (use a file path, -, cm://namespace/name or http(s)://)"
        )
    return Location(Scheme.FILE, path=raw)


def _configmap(raw: str) -> Location:
    parts = [p.strip() for p in raw[len("cm://") :].split("/")]
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidRequestError(
            f"invalid ConfigMap URI {raw!r}: expected cm://namespace/name or cm://namespace/name/key"
        )
    namespace, name = parts[0], parts[1]
    key = parts[2] if len(parts) == 3 else ""
    if not _NAMESPACE.fullmatch(namespace) or len(namespace) > 63:
        raise InvalidRequestError(
            f"invalid ConfigMap URI {raw!r}: namespace {namespace!r} is not a valid namespace name"
        )
    if not _NAME.fullmatch(name) or len(name) > 253:
        raise InvalidRequestError(f"invalid ConfigMap URI {raw!r}: name {name!r} is not a valid ConfigMap name")
    if key and not _KEY.fullmatch(key):
        raise InvalidRequestError(
            f"invalid ConfigMap URI {raw!r}: key {key!r} may only contain letters, digits, '-', '_', '.'"
        )
    return Location(Scheme.CONFIGMAP, namespace=namespace, name=name, key=key)
