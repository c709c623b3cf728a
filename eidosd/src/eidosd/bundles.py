"""``POST /v1/bundle``: a recipe in, the deployment bundle out as a zip or tar.gz archive.

* The renderer is the CLI's (``eidos_cli.bundle``), and the query parameters become
  ``BundleOptions`` through the CLI's own functions (``parse_deployer``, ``parse_set``,
  ``scheduling_from_flags``; repeatable values split on commas as the CLI's flags are). So the
  same recipe, recipe data and options give files byte-identical to ``eidos-cli bundle``'s
  (unsigned; a signed bundle's provenance names this request's id, so it differs per request).
* The body is read and decoded under the same limits as ``POST /v1/recipe`` (bodies.py: 413,
  415, 400). Decoding, parsing, rendering, signing and packing run in a small thread pool of
  their own, never on the event loop; the request's WRITE_TIMEOUT deadline cancels the wait
  (504) and the thread's late result is dropped.
* Nothing touches the disk: the bundle is rendered into a dict and packed into an in-memory
  buffer, so concurrent requests cannot see each other's files. The archive is handed to aiohttp
  as a payload, which writes it in 64 KiB chunks after the pipeline has added its headers.
* Archives are deterministic: entries in sorted path order (directories first in tar, as the
  OCI layer), fixed timestamps (1980-01-01 in zip, the epoch in tar), fixed owner, and the
  modes the CLI's writer gives: 0700 for scripts (``#!``, deploy.sh), 0600 for other files.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import stat
import time
import zipfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.payload import BytesIOPayload
from aiohttp_apigami import docs, querystring_schema, request_schema
from multidict import MultiMapping

from eidos_core import __version__, yaml
from eidos_core.errors import EidosError, InvalidRequestError, NotFoundError, UnavailableError
from eidos_core.recipe.criteria import AllowLists
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.result import recipe_from_document
from eidosd.bodies import decode_body, read_body
from eidosd.keys import RECIPES, SETTINGS
from eidosd.logs import request_id_var
from eidosd.schemas import BundleQuerySchema, RecipeResultSchema, document_errors
from eidosd.settings import Settings, SettingsError

if TYPE_CHECKING:
    from eidos_cli.bundle.bundler import BundleOptions
    from eidos_cli.bundle.signing import SigningKey
    from eidosd.pipeline import Pipeline

ROUTE = "/v1/bundle"
SOURCE = "request body"
ZIP, TAR_GZ = "zip", "tar.gz"
MEDIA_TYPES = {ZIP: "application/zip", TAR_GZ: "application/gzip"}
ACCEPT = {"application/zip": ZIP, "application/gzip": TAR_GZ, "application/x-gzip": TAR_GZ,
          "application/x-tar+gzip": TAR_GZ}  # fmt: skip
LIST_PARAMS = (
    "set",
    "disable",
    "system-node-selector",
    "system-node-toleration",
    "accelerated-node-selector",
    "accelerated-node-toleration",
)
SINGLE_PARAMS = ("deployer", "repo", "format")
QUERY_PARAMS = ("deployer", *LIST_PARAMS, "repo", "format")
RENDER_THREADS = 2
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
DIR_MODE, FILE_MODE, SCRIPT_MODE = 0o755, 0o600, 0o700
X_BUNDLE_FILES = "X-Eidos-Bundle-Files"
X_BUNDLE_DIGEST = "X-Eidos-Bundle-Digest"
X_BUNDLE_SIGNED = "X-Eidos-Bundle-Signed"
# The reference's headers, for clients written against it: file count, uncompressed bytes and
# the render time as a Go duration string.
REFERENCE_FILES = "X-Bundle-Files"
REFERENCE_SIZE = "X-Bundle-Size"
REFERENCE_DURATION = "X-Bundle-Duration"


class BundleRequestError(InvalidRequestError):
    """The recipe cannot be bundled with this server's recipe data (a values file or manifest it
    names is missing, a component the registry lacks): the request's fault, a 400."""


@dataclass(frozen=True, slots=True)
class BundleService:
    """The render threads and the signing key (read once, at start-up)."""

    executor: ThreadPoolExecutor
    signing_key: SigningKey | None


BUNDLES = web.AppKey("bundles", BundleService)


def read_signing_key(settings: Settings) -> SigningKey | None:
    """The key of BUNDLE_SIGNING_KEY, or None; a bad one is a :class:`SettingsError` (exit 2)
    naming the variable and the file, never showing what the file holds."""
    path = settings.bundle_signing_key
    if not path:
        return None
    from eidos_cli.bundle.signing import read_signing_key as read_key

    passphrase: bytes | None = None
    if settings.bundle_signing_key_passphrase_file:
        name = "BUNDLE_SIGNING_KEY_PASSPHRASE_FILE"
        try:
            with open(settings.bundle_signing_key_passphrase_file, "rb") as fh:
                passphrase = fh.read(4096).rstrip(b"\r\n") or None
        except OSError as exc:
            raise SettingsError(f"{name}={settings.bundle_signing_key_passphrase_file!r}: {exc.strerror}") from None
    try:
        return read_key(path, passphrase=passphrase)
    except EidosError as exc:
        raise SettingsError(f"BUNDLE_SIGNING_KEY={path!r}: {exc.message}") from None


# --- query parameters ---------------------------------------------------------------------------


def _format_of(query: Mapping[str, str], accept: str) -> str:
    fmt = query.get("format", "").strip().lower()
    if fmt:
        if fmt in ("tgz", "tar+gzip"):
            fmt = TAR_GZ
        if fmt not in MEDIA_TYPES:
            raise InvalidRequestError(
                f"invalid format {query['format']!r}: must be one of zip, tar.gz",
                details={"parameter": "format", "allowed": list(MEDIA_TYPES)},
            )
        return fmt
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in ACCEPT:
            return ACCEPT[media]
    return ZIP


def bundle_options(query: MultiMapping[str] | Mapping[str, Any]) -> BundleOptions:
    """The query parameters as the CLI's BundleOptions (the CLI's parsing functions)."""
    from eidos_cli.bundle.bundler import BundleOptions, parse_deployer
    from eidos_cli.bundle.overrides import parse_set
    from eidos_cli.bundle.scheduling import scheduling_from_flags

    def values(name: str) -> list[str]:  # repeatable, each value split on commas (the CLI's CommaList)
        getall = getattr(query, "getall", None)
        raw = getall(name, []) if getall else [query[name]] if name in query else []
        return [piece.strip() for value in raw for piece in str(value).split(",") if piece.strip()]

    deployer = parse_deployer(query.get("deployer"))
    return BundleOptions(
        deployer=deployer,
        repo=str(query.get("repo", "")).strip(),
        overrides=parse_set(values("set")),
        disabled=tuple(values("disable")),
        scheduling=scheduling_from_flags(
            system_selectors=values("system-node-selector"),
            system_tolerations=values("system-node-toleration"),
            accelerated_selectors=values("accelerated-node-selector"),
            accelerated_tolerations=values("accelerated-node-toleration"),
        ),
        bundler_version=__version__,
    )


def check_query(query: MultiMapping[str]) -> None:
    for name in query:
        if name not in QUERY_PARAMS:
            raise InvalidRequestError(
                f"unknown query parameter {name!r} (allowed: {', '.join(QUERY_PARAMS)})",
                details={"parameter": name, "allowed": list(QUERY_PARAMS)},
            )
    for name in SINGLE_PARAMS:
        if len(query.getall(name, [])) > 1:
            raise InvalidRequestError(f"query parameter {name!r} given more than once", details={"parameter": name})


# --- archives -----------------------------------------------------------------------------------


def _mode(data: bytes) -> int:
    return SCRIPT_MODE if data.startswith(b"#!") else FILE_MODE


def zip_archive(files: Mapping[str, bytes]) -> bytes:
    """A zip of ``files``: sorted, deflated, dated 1980-01-01, Unix modes kept."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix: external_attr holds the mode
            info.external_attr = (stat.S_IFREG | _mode(files[path])) << 16
            zf.writestr(info, files[path])
    return out.getvalue()


def tar_gz_archive(files: Mapping[str, bytes]) -> bytes:
    """The OCI layer's tar (eidos_cli.bundle.oci.pack_files: directories, sorted, fixed metadata)
    gzipped without a name or time."""
    from eidos_cli.bundle.oci import gzip_bytes, pack_files

    return gzip_bytes(pack_files(files))


ARCHIVERS = {ZIP: zip_archive, TAR_GZ: tar_gz_archive}


@dataclass(frozen=True, slots=True)
class Archive:
    data: bytes
    files: int
    size: int  # the files' bytes before archiving
    deployer: str
    signed: bool
    seconds: float  # building it: decode, render, sign, pack (not the wait for a thread)


def build_archive(
    body: bytes,
    encoding: str,
    max_bytes: int,
    store: RecipeStore,
    options: BundleOptions,
    fmt: str,
    key: SigningKey | None,
    request_id: str,
    allowlists: AllowLists,
) -> Archive:
    """Decode, parse, check against the allow-lists, render, sign and pack (blocking: runs in a
    render thread)."""
    from eidos_cli.bundle.bundler import render_bundle

    started = time.perf_counter()
    text = decode_body(body, encoding, max_bytes)
    if not text.strip():
        raise InvalidRequestError(f"{SOURCE}: empty document; send a recipeResult (JSON or YAML)")
    doc = yaml.load(text, source=SOURCE, raw=True, limits=yaml.DEFAULT_LIMITS.with_size(max_bytes))
    recipe = recipe_from_document(doc, source=SOURCE)
    if recipe.criteria is not None:  # the same policy as GET /v1/recipe: no way around it by POST
        allowlists.check(recipe.criteria)
    try:
        bundle = render_bundle(recipe, store, options)
    except NotFoundError as exc:  # a file the recipe names is not in this server's recipe data
        raise BundleRequestError(exc.message, details=exc.details) from None
    files = bundle.files
    if key is not None:
        from eidos_cli.bundle.provenance import ProvenanceInputs
        from eidos_cli.bundle.signing import sign_files

        inputs = ProvenanceInputs.of(recipe, store, options, builder="eidosd", invocation_id=request_id)
        files = sign_files(files, key, inputs)
    size = sum(len(data) for data in files.values())
    data = ARCHIVERS[fmt](files)
    return Archive(data, len(files), size, bundle.deployer, key is not None, time.perf_counter() - started)


def go_duration(seconds: float) -> str:
    """``seconds`` as Go prints a time.Duration ("1.5s", "12.345ms", "250µs"): what the
    reference's X-Bundle-Duration carries."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    if nanos >= 60 * 10**9:  # "1m1.25s", "1h0m0s": hours and minutes, then seconds always
        minutes, rest = divmod(nanos, 60 * 10**9)
        hours, minutes = divmod(minutes, 60)
        return (f"{hours}h" if hours else "") + f"{minutes}m" + _in_unit(rest, "s", 10**9)
    for unit, size in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if nanos >= size:
            return _in_unit(nanos, unit, size)
    return f"{nanos}ns"


def _in_unit(nanos: int, unit: str, size: int) -> str:
    whole, rest = divmod(nanos, size)
    fraction = f"{rest:0{len(str(size)) - 1}d}".rstrip("0")
    return f"{whole}.{fraction}{unit}" if fraction else f"{whole}{unit}"


# --- the handler --------------------------------------------------------------------------------

_ERRORS = {
    400: "Invalid recipe or options (the message names the parameter or field), or a recipe that "
    "names files this server's recipe data lacks.",
    408: "The body did not arrive within READ_TIMEOUT.",
    413: "The body is larger than the limit.",
    415: "The Content-Encoding is not gzip, deflate or identity.",
    429: "Rate limit exceeded; see Retry-After.",
    503: "Recipe data not loaded yet.",
    504: "Rendering took longer than WRITE_TIMEOUT.",
}
_ARCHIVE = {"type": "string", "format": "binary"}
_OK = {
    "description": "The bundle as an archive (zip by default; tar.gz with format=tar.gz or Accept: application/gzip). "
    'Headers: Content-Disposition (attachment; filename="eidos-bundle-<deployer>.<ext>"), '
    "X-Eidos-Bundle-Files (number of files), X-Eidos-Bundle-Digest (sha256 of the archive), "
    "X-Eidos-Bundle-Signed (true when provenance.intoto.jsonl was added); and the reference's "
    "X-Bundle-Files, X-Bundle-Size (bytes before archiving) and X-Bundle-Duration (the time to build it, "
    "a Go duration).",
    "content": {media: {"schema": _ARCHIVE} for media in MEDIA_TYPES.values()},
}


@docs(tags=["bundles"], summary="Render a recipe into a deployment bundle archive",
      description="The body is a recipeResult (as GET/POST /v1/recipe answer), JSON or YAML. The query "
                  "parameters are eidos-cli bundle's flags; repeatable ones also take comma-separated values. "
                  "Unsigned bundles are byte-identical, file by file, to eidos-cli bundle's for the same recipe, "
                  "recipe data and options. With BUNDLE_SIGNING_KEY set, every bundle carries "
                  "provenance.intoto.jsonl (its invocation id is the request id, so signed bundles differ "
                  "per request). Unknown parameters are a 400.",
      responses={200: _OK})  # fmt: skip
@querystring_schema(BundleQuerySchema())
@request_schema(RecipeResultSchema())
@document_errors(_ERRORS)
async def post_bundle(request: web.Request) -> web.Response:
    query = request.query
    check_query(query)
    options = bundle_options(query)  # bad options fail before the body is read
    fmt = _format_of(query, request.headers.get("Accept", ""))
    store = request.app[RECIPES].store
    if store is None:
        raise UnavailableError("recipe data not loaded yet; retry", details={"reason": "recipe data not loaded"})
    settings = request.app[SETTINGS]
    body = await read_body(request, settings.read_timeout)
    service = request.app[BUNDLES]
    loop = asyncio.get_running_loop()
    # Cancelled at the deadline (504 from the pipeline); the thread's result is then dropped.
    archive = await loop.run_in_executor(
        service.executor, build_archive, body, request.headers.get("Content-Encoding", ""),
        settings.max_body_bytes, store, options, fmt, service.signing_key, request_id_var.get() or "",
        settings.allowlists,
    )  # fmt: skip
    ext = "zip" if fmt == ZIP else "tar.gz"
    headers = {
        "Content-Disposition": f'attachment; filename="eidos-bundle-{archive.deployer}.{ext}"',
        X_BUNDLE_FILES: str(archive.files),
        REFERENCE_FILES: str(archive.files),
        REFERENCE_SIZE: str(archive.size),
        REFERENCE_DURATION: go_duration(archive.seconds),
        X_BUNDLE_DIGEST: "sha256:" + hashlib.sha256(archive.data).hexdigest(),
        X_BUNDLE_SIGNED: "true" if archive.signed else "false",
        "Cache-Control": "no-store",
    }
    # A payload, not a prepared StreamResponse: aiohttp writes it in 64 KiB chunks once the
    # pipeline has added its headers (request id, rate limit) to the response.
    payload = BytesIOPayload(io.BytesIO(archive.data), content_type=MEDIA_TYPES[fmt])
    return web.Response(body=payload, headers=headers)


def add_bundle_routes(app: web.Application, pipeline: Pipeline) -> None:
    """``POST /v1/bundle`` through the pipeline (rate limit, deadline, errors, metrics). Reads
    BUNDLE_SIGNING_KEY now, once: a bad key stops start-up (SettingsError, exit 2)."""
    key = read_signing_key(app[SETTINGS])
    service = BundleService(ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="eidosd-bundle"), key)
    app[BUNDLES] = service

    async def close(app: web.Application) -> None:
        service.executor.shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(close)
    app.router.add_post(ROUTE, pipeline.wrap(post_bundle, ROUTE, "POST"))


__all__ = ["BUNDLES", "QUERY_PARAMS", "ROUTE", "add_bundle_routes", "build_archive", "bundle_options"]
