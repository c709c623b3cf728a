"""Read and write whole documents (snapshots, recipes) by URI.

Reading: ``-``, a file, ``http(s)://`` or ``cm://ns/name[/key]``; YAML or JSON (JSON is read
as YAML 1.2). Writing: ``-``, a file (atomically) or ``cm://``; ConfigMaps store the document
under ``<component>.<format>`` with ``format`` and ``timestamp`` keys and Eidos labels.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any, Literal

from eidos_core import __version__, yaml
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.io.local import read_file, read_http, read_stdin, write_file_atomic, write_stdout
from eidos_core.io.uri import Location, Scheme, parse_uri

Format = Literal["yaml", "json", "table"]
FORMATS: tuple[Format, ...] = ("yaml", "json", "table")
# ``table`` is stored as ``.txt``: it is for people, and cannot be read back.
EXTENSIONS: dict[Format, str] = {"yaml": "yaml", "json": "json", "table": "txt"}
DOCUMENT_KEYS = ("snapshot.yaml", "snapshot.json", "recipe.yaml", "recipe.json")
LABEL_NAME = "app.kubernetes.io/name"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_VERSION = "app.kubernetes.io/version"


def render(doc: Any, fmt: Format) -> bytes:
    if fmt == "table":
        from eidos_core.io.table import render_table

        return render_table(doc).encode()
    if fmt == "json":
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
    return yaml.dump(doc).encode()


async def read_bytes(uri: str, *, kubeconfig: str | None = None) -> tuple[bytes, Location]:
    loc = parse_uri(uri)
    if loc.scheme is Scheme.STDIO:
        return await asyncio.to_thread(read_stdin), loc
    if loc.scheme is Scheme.FILE:
        return await asyncio.to_thread(read_file, loc.path), loc
    if loc.scheme is Scheme.HTTP:
        return await asyncio.to_thread(read_http, loc.path), loc
    from eidos_core.kube.client import api_client
    from eidos_core.kube.configmaps import read_configmap

    async with api_client(kubeconfig) as api:
        cm = await read_configmap(api, loc.namespace, loc.name)
    data: dict[str, str] = cm.data or {}
    keys = (loc.key,) if loc.key else DOCUMENT_KEYS
    for key in keys:
        if data.get(key):
            return data[key].encode(), loc
    present = ", ".join(sorted(data)) or "none"
    raise NotFoundError(f"ConfigMap {loc.namespace}/{loc.name} has no {' or '.join(keys)} key (keys: {present})")


async def read_document(uri: str, *, kubeconfig: str | None = None, raw: bool = False) -> Any:
    """The parsed document; ``raw`` keeps each scalar's text (``Scalar``), so that an unquoted
    ``version: 25.10`` read into a string field stays ``25.10``."""
    data, loc = await read_bytes(uri, kubeconfig=kubeconfig)
    if str(loc).lower().endswith((".txt", ".table")):
        raise InvalidRequestError(f"{loc}: the table format is for reading by people; use yaml or json")
    if not data.strip():
        raise InvalidRequestError(f"{loc}: empty document")
    return yaml.load(data, source=str(loc), raw=raw)


async def write_document(
    uri: str,
    doc: Any,
    *,
    component: Literal["snapshot", "recipe", "validation"],
    fmt: Format = "yaml",
    kubeconfig: str | None = None,
) -> Location:
    loc = parse_uri(uri)
    body = render(doc, fmt)
    if loc.scheme is Scheme.STDIO:
        await asyncio.to_thread(write_stdout, body)
    elif loc.scheme is Scheme.FILE:
        await asyncio.to_thread(write_file_atomic, loc.path, body)
    elif loc.scheme is Scheme.HTTP:
        raise InvalidRequestError(f"{loc}: http(s) locations are read-only; write to a file, - or cm://")
    else:
        from eidos_core.kube.client import api_client
        from eidos_core.kube.configmaps import check_size, write_configmap

        key = loc.key or f"{component}.{EXTENSIONS[fmt]}"
        data = {
            key: body.decode(),
            "format": fmt,
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        check_size(loc.namespace, loc.name, data)  # before touching the API
        async with api_client(kubeconfig) as api:
            await write_configmap(
                api,
                loc.namespace,
                loc.name,
                data,
                labels={LABEL_NAME: "eidos", LABEL_COMPONENT: component, LABEL_VERSION: __version__},
                replaces=lambda k: k.startswith(f"{component}."),
            )
    return loc
