"""Bundles in OCI registries: push a rendered bundle as an OCI artifact, pull it back, and put a
bundle's Helm charts into the registry so that ``helm install oci://…`` works.

**The bundle artifact** (an OCI image manifest v1.1, laid out as the image spec's guidance for
artifacts says):

* manifest ``application/vnd.oci.image.manifest.v1+json`` with
  ``artifactType: application/vnd.nvidia.eidos.artifact``;
* config: the empty descriptor, ``application/vnd.oci.empty.v1+json`` with content ``{}``;
* one layer ``application/vnd.oci.image.layer.v1.tar+gzip``: every file of the bundle, paths
  relative to the bundle root (no ``./`` prefix, no ``oci-layout/`` or other stray directory),
  with ``org.opencontainers.image.title: .``, ``io.deis.oras.content.digest`` (the sha256 of the
  uncompressed tar) and ``io.deis.oras.content.unpack: "true"``: the annotations the oras tools
  write for a directory pushed as one layer (``oras pull`` unpacking it is not tested here);
* manifest annotations ``org.opencontainers.image.title: Eidos Bundle``, ``…version`` (the
  eidos-cli version), ``…vendor: NVIDIA``, ``…source`` and ``com.nvidia.eidos.bundle.deployer``
  (``helm`` or ``argocd``).

The artifact is reproducible: the same bundle files give the same manifest digest. The tar
lists directories then files in sorted path order with mtime 0, owner 0:0 and no user or
group names, modes 0755 (directories), 0700 (files starting with ``#!``) and 0600 (the
rest), as ``writer`` writes them; gzip has mtime 0 and no file name; the manifest is compact
JSON in a fixed key order. There is no ``org.opencontainers.image.created``: a fixed
1970-01-01 stamp (what the reference writes to stay reproducible) says nothing, and a real
one would change the digest on every push. (Compressed bytes come from zlib: another zlib
build may compress differently, which gives another layer digest for the same files; the
uncompressed digest annotation and checksums.txt stay the same.)

**Charts** (``--push-charts``): a Helm bundle here is one release per component installed in
order by ``deploy.sh``, not an umbrella chart (see ``helm``): there is no chart of the bundle
itself, and an umbrella packaged only for the registry would install every component as one
release, without the order the bundle exists for (and would have to vendor every chart to be
installable at all). What ``helm install`` needs from a registry is each component's chart,
so each enabled step's chart package is pushed as a Helm OCI chart (config
``application/vnd.cncf.helm.config.v1+json``: Chart.yaml's metadata as JSON; one layer
``application/vnd.cncf.helm.chart.content.v1.tar+gzip``: the package, byte for byte) to
``<registry>/<repository>/charts/<chart>:<chart version>`` (``+`` written ``_``, as helm does).
Then ``helm install gpu-operator oci://REGISTRY/REPO/charts/gpu-operator --version V -f
gpu-operator/values.yaml`` (``--plain-http`` for an HTTP registry) installs a component from
the registry with the bundle's values, and ``helm pull``/``helm template`` work the same way:
the registry holds the bundle and everything it installs, for clusters that reach nothing else.
A chart package comes from ``--charts`` (a folder of packages or a chart repository URL), the
chart's own repository (an HTTP chart repository or an ``oci://`` registry) or the Helm cache,
first found wins; it must be the chart and version the plan names.

**Pull** reads a bundle back: the manifest (its sha256 must be the digest of the reference, or
the ``Docker-Content-Digest`` the registry names for a tag), the layer (size and sha256 as
the manifest says, the unpacked tar's sha256 as its annotation says), then the files: regular
files and directories only, every path relative and inside the bundle, and every file as
``checksums.txt`` lists it, no file missing or unlisted (but the signed provenance envelope,
``provenance.intoto.jsonl``, which signs checksums.txt: ``bundle verify`` checks it). Then it
is written like a new bundle (``writer``): into a temporary directory beside the target,
renamed into place. ``fetch_bundle`` stops before the checksums, for ``bundle verify oci://…``.

Exit codes (``eidos_core.errors``): content that does not match its digest or its
checksums 7 (``ValidationFailedError``); a tag, manifest or blob the registry does not have 3;
credentials refused or missing 4; registry unreachable, TLS failure or 5xx 6; no answer in
time 5; a bad reference, an artifact that is not a bundle, a non-empty target 2.

**Credentials**: ``EIDOS_REGISTRY_USERNAME`` and ``EIDOS_REGISTRY_PASSWORD`` when set (both),
else the Docker config (``$DOCKER_CONFIG/config.json``, ``~/.docker/config.json``; inline
``auths`` and credential helpers, as ``docker login`` leaves them), else anonymous.

**oras-py**: registry HTTP goes through its ``Registry`` (blob upload with its existence check,
blob download, its auth backends and Docker config reading). What it lacks is worked around
with its public API: it has no ``artifactType`` and cannot be handed manifest bytes, so the
manifest is built here and PUT through ``Registry.do_request`` (its digest is known before
the push and checked against the registry's answer); ``upload_blob`` takes a path, so blobs
are written to a temporary directory first; its ``do_request`` retries any failure five times
with sleeps of 3 to 83 seconds and raises ``ValueError`` when a registry refuses credentials,
so :class:`Client` overrides it: the auth challenge answered once (with a token for the
challenged scope), transient failures retried twice within a second, 30 s timeouts,
unreachable registries and refused credentials reported at once with their exit code; its
token backend cannot answer a ``Basic`` challenge (htpasswd registries), so the backend is
chosen from the registry's ``/v2/`` challenge; it reads only ``~/.docker/config.json``, so
``$DOCKER_CONFIG/config.json`` is passed to it too.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oras.auth  # type: ignore[import-untyped]
import oras.container  # type: ignore[import-untyped]
import oras.provider  # type: ignore[import-untyped]
import requests
import requests.adapters

from eidos_cli.bundle.checksums import CHECKSUMS_FILE, parse_checksums
from eidos_cli.bundle.paths import check_relative
from eidos_cli.bundle.plan import Chart
from eidos_cli.bundle.provenance import ENVELOPE_FILE
from eidos_cli.bundle.writer import write_bundle
from eidos_core import yaml
from eidos_core.errors import (
    EidosError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    TimeoutExceededError,
    UnavailableError,
    ValidationFailedError,
)
from eidos_core.io.local import os_error

log = logging.getLogger("eidos_cli.bundle")

ARTIFACT_TYPE = "application/vnd.nvidia.eidos.artifact"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
HELM_CONFIG_MEDIA_TYPE = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

TITLE = "org.opencontainers.image.title"
VERSION = "org.opencontainers.image.version"
VENDOR = "org.opencontainers.image.vendor"
SOURCE = "org.opencontainers.image.source"
DESCRIPTION = "org.opencontainers.image.description"
DEPLOYER = "com.nvidia.eidos.bundle.deployer"
CONTENT_DIGEST = "io.deis.oras.content.digest"  # sha256 of the uncompressed tar (oras convention)
UNPACK = "io.deis.oras.content.unpack"
BUNDLE_TITLE = "Eidos Bundle"
PROJECT_SOURCE = "https://github.com/NVIDIA/eidos"

USERNAME_ENV = "EIDOS_REGISTRY_USERNAME"
PASSWORD_ENV = "EIDOS_REGISTRY_PASSWORD"
CHARTS_PATH = "charts"  # charts go to <repository>/charts/<chart>

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the distribution registry's own limit
MAX_BUNDLE_BYTES = 512 * 1024 * 1024  # compressed layer, and unpacked tar, each
MAX_FILES = 200_000
TIMEOUT_S = 30.0
BACKOFF_S = (0.25, 0.75)  # transient failures (connection, 429, 502-504): two retries
_TRANSIENT = frozenset({429, 502, 503, 504})

DIR_MODE = 0o755
FILE_MODE = 0o600
SCRIPT_MODE = 0o700

# Reference grammar (the distribution registry's, lower-case repositories as OCI requires).
_HOST = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?")
_REPOSITORY = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


EMPTY_DIGEST = sha256(EMPTY_CONFIG)


# ---- references ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reference:
    """``registry/repository[:tag][@digest]``; printed with ``oci://`` in front."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        return "oci://" + self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def pinned(self, digest: str) -> str:
        """``oci://registry/repository@digest``: what pushing prints and pulling takes."""
        return f"oci://{self.name}@{digest}"


def tag_for(version: str) -> str:
    """A version as a tag: ``+`` is not allowed in tags, helm writes it ``_``."""
    return version.replace("+", "_")


def parse_reference(text: str, *, default_tag: str = "", what: str = "OCI reference") -> Reference:
    """``oci://registry/repository[:tag][@sha256:…]``. A first component without ``.`` or ``:``
    (and not ``localhost``) is a Docker Hub name: ``oci://foo`` is ``docker.io/library/foo``."""
    raw = text.strip()

    def bad(reason: str) -> InvalidRequestError:
        return InvalidRequestError(f"invalid {what} {text!r}: {reason}")

    if not raw.lower().startswith("oci://"):
        raise bad("must start with oci://")
    rest = raw[len("oci://") :]
    digest = ""
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            raise bad(f"digest {digest!r} must be sha256: and 64 lower-case hex digits")
    head, slash, last = rest.rpartition("/")
    tag = ""
    if ":" in last:
        last, tag = last.split(":", 1)
        if not _TAG.fullmatch(tag):
            raise bad(f"tag {tag!r} must be letters, digits, '_', '.' and '-' (at most 128, not starting with . or -)")
    path = head + slash + last
    if not path:
        raise bad("no repository")
    parts = path.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, repository = parts[0], "/".join(parts[1:])
    else:
        registry, repository = "docker.io", path if "/" in path else f"library/{path}"
    if not _HOST.fullmatch(registry):
        raise bad(f"registry {registry!r} is not a host name with an optional :port")
    if not _REPOSITORY.fullmatch(repository):
        raise bad(f"repository {repository!r} must be lower-case letters and digits, separated by '.', '_', '-' or '/'")
    return Reference(registry, repository, tag or ("" if digest else default_tag), digest)


def api_host(registry: str) -> str:
    """Where a registry's API answers: Docker Hub's is not docker.io itself."""
    return "registry-1.docker.io" if registry in ("docker.io", "index.docker.io") else registry


# ---- the artifact ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Artifact:
    """A manifest and the blobs it names (digest → media type and content)."""

    manifest: bytes
    blobs: Mapping[str, tuple[str, bytes]]

    @property
    def digest(self) -> str:
        return sha256(self.manifest)


def _descriptor(media_type: str, data: bytes, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def _manifest(
    config: Mapping[str, Any], layers: list[dict[str, Any]], annotations: Mapping[str, str], artifact_type: str = ""
) -> bytes:
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": MANIFEST_MEDIA_TYPE}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc |= {"config": dict(config), "layers": layers, "annotations": dict(sorted(annotations.items()))}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _tar_info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size = kind, mode, size
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def pack_files(files: Mapping[str, bytes]) -> bytes:
    """The bundle as a tar: directories, then files, in sorted path order, with fixed metadata."""
    for path in files:
        check_relative(path, what="bundle path")
    dirs = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(dirs | set(files)):
            if path in dirs:
                tar.addfile(_tar_info(path, tarfile.DIRTYPE, DIR_MODE))
            else:
                data = files[path]
                mode = SCRIPT_MODE if data.startswith(b"#!") else FILE_MODE
                tar.addfile(_tar_info(path, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))
    return out.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return out.getvalue()


def bundle_artifact(files: Mapping[str, bytes], *, deployer: str, version: str) -> Artifact:
    """The OCI artifact of a rendered bundle (pure: no registry involved)."""
    tar = pack_files(files)
    layer = gzip_bytes(tar)
    layer_desc = _descriptor(LAYER_MEDIA_TYPE, layer, {TITLE: ".", CONTENT_DIGEST: sha256(tar), UNPACK: "true"})
    annotations = {TITLE: BUNDLE_TITLE, VERSION: version, VENDOR: "NVIDIA", SOURCE: PROJECT_SOURCE, DEPLOYER: deployer}
    manifest = _manifest(_descriptor(EMPTY_MEDIA_TYPE, EMPTY_CONFIG), [layer_desc], annotations, ARTIFACT_TYPE)
    return Artifact(
        manifest, {EMPTY_DIGEST: (EMPTY_MEDIA_TYPE, EMPTY_CONFIG), sha256(layer): (LAYER_MEDIA_TYPE, layer)}
    )


def _gunzip(data: bytes, limit: int, where: str) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValidationFailedError(f"{where}: the bundle layer is not gzip data: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ValidationFailedError(f"{where}: the bundle layer unpacks to more than {limit} bytes")
    return out


def unpack_files(tar_bytes: bytes, where: str) -> dict[str, bytes]:
    """Files of a bundle tar: regular files and directories only, relative paths inside the
    bundle, each once; anything else fails (exit 7) naming the entry."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
            for count, member in enumerate(tar):
                if count >= MAX_FILES:
                    raise ValidationFailedError(f"{where}: the bundle has more than {MAX_FILES} entries")
                name = member.name.removeprefix("./").rstrip("/") if member.name not in (".", "./") else ""
                if not name:
                    continue
                try:
                    check_relative(name, what="bundle path")
                except InvalidRequestError as exc:
                    raise ValidationFailedError(f"{where}: {exc.message}") from None
                if member.isdir():
                    continue
                if not member.isreg():
                    raise ValidationFailedError(
                        f"{where}: bundle entry {name!r} is not a regular file or directory (links are refused)"
                    )
                if name in files:
                    raise ValidationFailedError(f"{where}: bundle entry {name!r} appears twice")
                reader = tar.extractfile(member)
                assert reader is not None  # a regular file
                files[name] = reader.read()
    except tarfile.TarError as exc:
        raise ValidationFailedError(f"{where}: the bundle layer is not a valid tar: {exc}") from None
    return files


def verify_checksums(files: Mapping[str, bytes], where: str) -> None:
    """Every file is in ``checksums.txt`` with its sha256, and every listed file is there. The
    signed provenance envelope is the one file not listed (it signs checksums.txt; ``bundle
    verify`` checks it)."""
    if CHECKSUMS_FILE not in files:
        raise ValidationFailedError(f"{where}: the bundle has no {CHECKSUMS_FILE}")
    listed = parse_checksums(files[CHECKSUMS_FILE])
    for path in sorted(set(files) | set(listed)):
        if path in (CHECKSUMS_FILE, ENVELOPE_FILE) and path not in listed:
            continue
        if path not in listed:
            raise ValidationFailedError(f"{where}: {path} is not listed in {CHECKSUMS_FILE}")
        if path not in files:
            raise ValidationFailedError(f"{where}: {path} is listed in {CHECKSUMS_FILE} but missing")
        if hashlib.sha256(files[path]).hexdigest() != listed[path]:
            raise ValidationFailedError(f"{where}: {path} does not match its sha256 in {CHECKSUMS_FILE}")


# ---- the registry client -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryOptions:
    plain_http: bool = False  # http:// instead of https://
    insecure: bool = False  # https without certificate verification


class _TimeoutAdapter(requests.adapters.HTTPAdapter):
    """Every request of the session (oras's token requests included) gets a timeout."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = TIMEOUT_S
        return super().send(request, *args, **kwargs)


def _reason(exc: BaseException) -> str:
    """The useful end of a requests error: ``Connection refused``, not three nested wrappers."""
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if found:
        return found[1].strip()
    found = re.search(r"\[SSL: [A-Z_]+\] ([^(')]+)", text)
    if found:
        return found[1].strip().replace("_", " ")
    found = re.search(r"certificate verify failed: ([^(')]+)", text)
    if found:
        return "certificate verify failed: " + found[1].strip()
    return text.split(" (Caused by ")[-1][:300] if text else type(exc).__name__


def _registry_message(response: requests.Response) -> str:
    """``CODE: message`` of an OCI error body, else a short body."""
    try:
        doc = response.json()
        errors = doc.get("errors") if isinstance(doc, dict) else None
        if isinstance(errors, list) and errors:
            return "; ".join(
                f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors if isinstance(e, dict)
            )
    except ValueError:
        pass
    return response.text[:200].strip() if response.text else ""


def docker_config() -> str | None:
    """``$DOCKER_CONFIG/config.json`` when that exists (oras reads ~/.docker/config.json itself)."""
    folder = os.environ.get("DOCKER_CONFIG", "").strip()
    path = os.path.join(folder, "config.json") if folder else ""
    return path if path and os.path.isfile(path) else None


class Client(oras.provider.Registry):  # type: ignore[misc]  # oras has no type information
    """An oras ``Registry`` for one repository whose failures are exit codes, not retries."""

    def __init__(self, ref: Reference, options: RegistryOptions) -> None:
        super().__init__(hostname=api_host(ref.registry), insecure=options.plain_http, tls_verify=not options.insecure)
        self.ref = ref
        self.options = options
        self.verify = not options.insecure
        self.last: requests.Response | None = None
        adapter = _TimeoutAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def container(self, tag: str = "", digest: str = "") -> Any:
        """An oras Container for this repository. Fields are set, not parsed: oras's parser
        takes a first path component with a '.' for a registry."""
        c = oras.container.Container("eidos", registry=self.hostname)
        c.registry, c.namespace, c.repository = self.hostname, None, self.ref.repository
        c.tag, c.digest = tag or "latest", digest or None
        return c

    def url(self, path: str) -> str:
        return f"{self.prefix}://{path}"

    def send(
        self,
        method: str,
        url: str,
        *,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        """One request, transient failures (connection, 429, 502-504) retried twice."""
        for attempt in range(len(BACKOFF_S) + 1):
            last = attempt == len(BACKOFF_S)
            try:
                response: requests.Response = self.session.request(
                    method, url, data=data, json=json, headers=dict(headers or {}), stream=stream, verify=self.verify
                )
            except requests.exceptions.SSLError as exc:
                raise UnavailableError(
                    f"{self.ref}: TLS with {self.hostname} failed: {_reason(exc)}; for a registry with a "
                    "self-signed certificate use --insecure, for one that speaks plain HTTP --plain-http"
                ) from None
            except requests.exceptions.Timeout:
                if last:
                    raise TimeoutExceededError(
                        f"{self.ref}: {self.hostname} did not answer {method} within {TIMEOUT_S:.0f}s"
                    ) from None
            except requests.exceptions.ConnectionError as exc:
                if last:
                    raise UnavailableError(
                        f"{self.ref}: cannot reach the registry at {self.prefix}://{self.hostname}: {_reason(exc)}"
                    ) from None
            else:
                if response.status_code not in _TRANSIENT or last:
                    return response
                response.close()
            time.sleep(BACKOFF_S[attempt])
        raise AssertionError("unreachable")

    def do_request(
        self,
        url: str,
        method: str = "GET",
        data: Any = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        """oras's entry point for every request, without its long retries: the auth
        challenge is answered once; refused credentials raise ForbiddenError."""
        headers = dict(headers or {})
        if isinstance(self.auth, oras.auth.TokenAuth) and self.auth.token is not None:
            headers.update(self.auth.get_auth_header())
        elif isinstance(self.auth, oras.auth.BasicAuth):
            # Sent up front: no 401 round trip (and no second upload of a blob) per request.
            # AttributeError: no credentials, anonymous until the registry says otherwise.
            with contextlib.suppress(AttributeError):
                headers.update(self.auth.get_auth_header())
        response = self.send(method, url, data=data, headers=headers, json=json, stream=stream)
        if response.status_code in (401, 403):
            try:
                # refresh: a token for this challenge's scope (push needs more than the pull before it)
                headers, changed = self.auth.authenticate_request(response, headers, refresh=True)
            except (AttributeError, ValueError, requests.RequestException):
                changed = False  # oras's basic backend without credentials; a token realm that fails
            if changed:
                response.close()
                response = self.send(method, url, data=data, headers=headers, json=json, stream=stream)
        self.last = response
        if response.status_code in (401, 403):
            raise ForbiddenError(
                f"{self.ref}: the registry refused access (HTTP {response.status_code}"
                + (f": {msg}" if (msg := _registry_message(response)) else "")
                + f"); credentials come from {USERNAME_ENV}/{PASSWORD_ENV}, else the Docker config "
                "($DOCKER_CONFIG/config.json or ~/.docker/config.json, e.g. after docker login)"
            )
        return response

    def error(self, response: requests.Response, doing: str) -> EidosError:
        code = response.status_code
        detail = _registry_message(response)
        text = f"{self.ref}: {doing}: the registry answered HTTP {code}" + (f" ({detail})" if detail else "")
        if code == 404:
            return NotFoundError(text)
        if code in (401, 403):
            return ForbiddenError(text)
        if code in _TRANSIENT or code >= 500:
            return UnavailableError(text)
        return InvalidRequestError(text)

    # -- the operations

    def ping(self) -> None:
        """``GET /v2/``: the registry answers, and how it wants credentials."""
        response = self.send("GET", self.url(f"{self.hostname}/v2/"))
        response.close()
        if response.status_code == 401:
            scheme = response.headers.get("WWW-Authenticate", "").split(" ", 1)[0].lower()
            if scheme == "basic":  # oras's default token backend cannot answer Basic
                self.auth = oras.auth.get_auth_backend(
                    "basic", self.session, self.options.plain_http, tls_verify=self.verify
                )
        elif response.status_code != 200:
            raise UnavailableError(
                f"{self.ref}: {self.url(self.hostname + '/v2/')} answered HTTP {response.status_code}: "
                "not an OCI registry (distribution API v2)"
                + ("; is it an HTTPS registry? drop --plain-http" if response.status_code == 400 else "")
            )
        user, password = os.environ.get(USERNAME_ENV, ""), os.environ.get(PASSWORD_ENV, "")
        if user or password:
            if not (user and password):
                raise InvalidRequestError(f"set both {USERNAME_ENV} and {PASSWORD_ENV}, or neither")
            self.auth.set_basic_auth(user, password)
        else:
            config = docker_config()
            self.auth.load_configs(self.container(), configs=[config] if config else None)

    def push_blob(self, media_type: str, data: bytes, tmp: Path) -> None:
        descriptor = _descriptor(media_type, data)
        path = tmp / descriptor["digest"].replace(":", "-")
        path.write_bytes(data)
        try:
            response = self.upload_blob(str(path), self.container(), descriptor)
        except ValueError:  # oras: no upload session (the registry refused the POST)
            if self.last is not None and self.last.status_code >= 400:
                raise self.error(self.last, f"uploading blob {descriptor['digest']}") from None
            raise
        finally:
            path.unlink(missing_ok=True)
        if response.status_code not in (200, 201, 202):
            raise self.error(response, f"uploading blob {descriptor['digest']}")

    def push(self, artifact: Artifact, tag: str) -> str:
        """Blobs, then the manifest tagged ``tag``; the manifest digest."""
        with tempfile.TemporaryDirectory(prefix="eidos-oci-") as tmp:
            for media_type, data in artifact.blobs.values():
                self.push_blob(media_type, data, Path(tmp))
        url = self.url(self.container().manifest_url(tag))
        response = self.do_request(url, "PUT", data=artifact.manifest, headers={"Content-Type": MANIFEST_MEDIA_TYPE})
        if response.status_code not in (200, 201):
            raise self.error(response, "pushing the manifest")
        served = response.headers.get("Docker-Content-Digest", "")
        if served and served != artifact.digest:
            raise ValidationFailedError(
                f"{self.ref}: the registry stored the manifest as {served}, not {artifact.digest}"
            )
        return artifact.digest

    def _read(self, response: requests.Response, limit: int, what: str) -> bytes:
        chunks, size = [], 0
        with response:
            for chunk in response.iter_content(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise ValidationFailedError(f"{self.ref}: {what} is larger than {limit} bytes")
                chunks.append(chunk)
        return b"".join(chunks)

    def manifest(self) -> tuple[bytes, str]:
        """The manifest's bytes and digest, checked against the reference's digest (or the
        digest the registry gives for the tag)."""
        ref = self.ref
        url = self.url(self.container().manifest_url(ref.digest or ref.tag))
        response = self.do_request(url, "GET", headers={"Accept": MANIFEST_MEDIA_TYPE}, stream=True)
        if response.status_code == 404:
            response.close()
            what = f"manifest {ref.digest}" if ref.digest else f"tag {ref.tag!r}"
            raise NotFoundError(f"{ref}: no {what} in {ref.name} (the registry answered 404)")
        if response.status_code != 200:
            response.close()
            raise self.error(response, "reading the manifest")
        served = response.headers.get("Docker-Content-Digest", "")
        body = self._read(response, MAX_MANIFEST_BYTES, "the manifest")
        digest = sha256(body)
        expected = ref.digest or served
        if expected and expected != digest:
            raise ValidationFailedError(
                f"{ref}: the manifest the registry served does not match its digest: expected {expected}, "
                f"got {digest} (changed in the registry or in transit)"
            )
        return body, digest

    def blob(self, descriptor: Mapping[str, Any], limit: int) -> bytes:
        digest, size = str(descriptor.get("digest", "")), descriptor.get("size")
        if not _DIGEST.fullmatch(digest) or not isinstance(size, int) or size < 0:
            raise ValidationFailedError(f"{self.ref}: the manifest has a layer without a sha256 digest and size")
        if size > limit:
            raise ValidationFailedError(f"{self.ref}: layer {digest} is {size} bytes; the limit is {limit}")
        response = self.get_blob(self.container(), digest, stream=True)
        if response.status_code == 404:
            response.close()
            raise NotFoundError(f"{self.ref}: the registry has no blob {digest} that the manifest names")
        if response.status_code != 200:
            response.close()
            raise self.error(response, f"reading blob {digest}")
        data = self._read(response, limit, f"blob {digest}")
        if len(data) != size or sha256(data) != digest:
            raise ValidationFailedError(
                f"{self.ref}: blob {digest} does not match its digest: the registry served {len(data)} bytes "
                f"with {sha256(data)} (changed in the registry or in transit)"
            )
        return data


def connect(ref: Reference, options: RegistryOptions) -> Client:
    client = Client(ref, options)
    client.ping()
    return client


# ---- push and pull a bundle --------------------------------------------------------------------


def push_bundle(
    files: Mapping[str, bytes], ref: Reference, *, deployer: str, version: str, options: RegistryOptions
) -> str:
    """Push the bundle tagged ``ref.tag``; the manifest digest."""
    if ref.digest or not ref.tag:
        raise InvalidRequestError(f"{ref}: push to a tag (oci://registry/repository:tag), not a digest")
    artifact = bundle_artifact(files, deployer=deployer, version=version)
    log.info("pushing bundle", extra={"reference": str(ref), "files": len(files), "digest": artifact.digest})
    digest = connect(ref, options).push(artifact, ref.tag)
    log.info("bundle pushed", extra={"reference": ref.pinned(digest), "tag": ref.tag})
    return digest


@dataclass(frozen=True, slots=True)
class Pulled:
    files: Mapping[str, bytes]
    digest: str
    deployer: str


def pull_bundle(ref: Reference, options: RegistryOptions) -> Pulled:
    """A bundle's files, every digest and checksum verified."""
    pulled = fetch_bundle(ref, options)
    verify_checksums(pulled.files, str(ref))
    log.info("bundle pulled", extra={"reference": ref.pinned(pulled.digest), "files": len(pulled.files)})
    return pulled


def fetch_bundle(ref: Reference, options: RegistryOptions) -> Pulled:
    """A bundle's files as the artifact holds them: manifest and layer digests verified, the
    files not yet checked against ``checksums.txt`` (``pull_bundle`` does; ``bundle verify``
    reports each file that does not match)."""
    client = connect(ref, options)
    body, digest = client.manifest()
    try:
        manifest = json.loads(body)
    except ValueError:
        raise ValidationFailedError(f"{ref}: the manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("mediaType", MANIFEST_MEDIA_TYPE) != MANIFEST_MEDIA_TYPE:
        raise InvalidRequestError(f"{ref}: not an Eidos bundle: not an OCI image manifest")
    if manifest.get("artifactType") != ARTIFACT_TYPE:
        kind = manifest.get("artifactType") or (manifest.get("config") or {}).get("mediaType")
        raise InvalidRequestError(f"{ref}: not an Eidos bundle (artifact type {kind!r}, expected {ARTIFACT_TYPE})")
    layers = [d for d in manifest.get("layers") or [] if isinstance(d, dict)]
    if len(layers) != 1 or layers[0].get("mediaType") != LAYER_MEDIA_TYPE:
        raise InvalidRequestError(f"{ref}: not an Eidos bundle: expected one {LAYER_MEDIA_TYPE} layer")
    layer = client.blob(layers[0], MAX_BUNDLE_BYTES)
    tar = _gunzip(layer, MAX_BUNDLE_BYTES, str(ref))
    unpacked = (layers[0].get("annotations") or {}).get(CONTENT_DIGEST)
    if unpacked and unpacked != sha256(tar):
        raise ValidationFailedError(f"{ref}: the unpacked layer does not match its {CONTENT_DIGEST} annotation")
    files = unpack_files(tar, str(ref))
    deployer = str((manifest.get("annotations") or {}).get(DEPLOYER, ""))
    return Pulled(files=files, digest=digest, deployer=deployer)


def _entries(path: Path) -> bool:
    with os.scandir(path) as it:
        return any(True for _ in it)


def check_target(target: Path, force: bool) -> None:
    """A pull's target: missing, an empty directory, or (with ``force``) any directory."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InvalidRequestError(f"{target} exists and is not a directory")
    if target.is_dir() and not force and _entries(target):
        raise InvalidRequestError(f"{target} is not empty; pull into a new directory or use --force to replace it")
    if target.is_dir() and Path.cwd().resolve().is_relative_to(target.resolve()):
        raise InvalidRequestError(f"{target} is the current directory or holds it; pull into another directory")


def write_pulled(files: Mapping[str, bytes], target: Path, *, force: bool) -> None:
    """Write a pulled bundle as ``target``: staged beside it (``writer``), then renamed into
    place. With ``force`` an existing directory is moved aside, replaced and then removed; if
    the rename fails it is moved back."""
    try:
        check_target(target, force)
        target = target.absolute()
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.eidos-pull-", dir=target.parent))
        try:
            write_bundle(files, staging / "bundle")
            if target.is_dir() and not _entries(target):
                target.rmdir()
            if target.exists():
                old = staging / "replaced"
                os.rename(target, old)
                try:
                    os.rename(staging / "bundle", target)
                except BaseException:
                    os.rename(old, target)
                    raise
            else:
                os.rename(staging / "bundle", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise os_error(exc, f"cannot write the bundle to {target}{where}") from exc


# ---- charts --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PushedChart:
    name: str
    version: str  # the chart's own version (Chart.yaml)
    ref: Reference  # with tag
    digest: str

    def __str__(self) -> str:
        return f"{self.ref}@{self.digest}"


def chart_metadata(package: bytes, where: str) -> dict[str, Any]:
    """Chart.yaml of a chart package (``<name>/Chart.yaml``), as a mapping."""
    try:
        with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isreg():
                    reader = tar.extractfile(member)
                    assert reader is not None
                    meta = yaml.load(reader.read(), source=f"{where}:{member.name}")
                    if isinstance(meta, dict):
                        return meta
                    break
    except (tarfile.TarError, zlib.error, OSError, EOFError) as exc:
        raise InvalidRequestError(f"{where}: not a chart package: {exc}") from None
    raise InvalidRequestError(f"{where}: not a chart package: no <chart>/Chart.yaml")


def chart_artifact(package: bytes, meta: Mapping[str, Any]) -> Artifact:
    """A chart package as Helm stores it in a registry. The config is Chart.yaml's metadata as
    JSON (string fields only where helm's Go struct has strings), with no creation time."""
    strings: tuple[str, ...] = (
        "name",
        "home",
        "version",
        "description",
        "icon",
        "apiVersion",
        "condition",
        "tags",
        "appVersion",
    )
    strings += ("kubeVersion", "type")
    config: dict[str, Any] = {k: meta[k] for k in strings if isinstance(meta.get(k), str)}
    for key in ("sources", "keywords"):
        if isinstance(meta.get(key), list):
            config[key] = [str(v) for v in meta[key] if isinstance(v, str | int | float)]
    for key in ("maintainers", "dependencies"):
        if isinstance(meta.get(key), list):
            config[key] = [v for v in meta[key] if isinstance(v, dict)]
    if isinstance(meta.get("annotations"), dict):
        config["annotations"] = {str(k): str(v) for k, v in meta["annotations"].items()}
    if isinstance(meta.get("deprecated"), bool):
        config["deprecated"] = meta["deprecated"]
    config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True, default=str).encode()
    annotations = {TITLE: str(meta.get("name", "")), VERSION: str(meta.get("version", ""))}
    if isinstance(meta.get("description"), str) and meta["description"]:
        annotations[DESCRIPTION] = meta["description"]
    manifest = _manifest(
        _descriptor(HELM_CONFIG_MEDIA_TYPE, config_bytes), [_descriptor(HELM_CHART_MEDIA_TYPE, package)], annotations
    )
    return Artifact(
        manifest,
        {
            sha256(config_bytes): (HELM_CONFIG_MEDIA_TYPE, config_bytes),
            sha256(package): (HELM_CHART_MEDIA_TYPE, package),
        },
    )


def _same_version(a: str, b: str) -> bool:
    return a.strip().removeprefix("v") == b.strip().removeprefix("v")


def _oci_chart(chart: Chart, options: RegistryOptions, destination: str) -> bytes:
    """A chart from an ``oci://`` repository: its chart layer, digests checked. The same
    registry as the destination is reached with the same --plain-http/--insecure."""
    base = chart.repository.rstrip("/") + "/" + chart.name
    ref = parse_reference(f"{base}:{tag_for(chart.version)}", what="chart repository")
    client = connect(ref, options if ref.registry == destination else RegistryOptions())
    body, _ = client.manifest()
    try:
        layers = json.loads(body).get("layers") or []
    except (ValueError, AttributeError):
        raise ValidationFailedError(f"{ref}: the manifest is not a JSON object") from None
    layer = next((d for d in layers if isinstance(d, dict) and d.get("mediaType") == HELM_CHART_MEDIA_TYPE), None)
    if layer is None:
        raise InvalidRequestError(f"{ref}: not a Helm chart (no {HELM_CHART_MEDIA_TYPE} layer)")
    return client.blob(layer, MAX_BUNDLE_BYTES)


def find_chart(chart: Chart, charts: str | None, options: RegistryOptions, destination: str, tmp: Path) -> bytes:
    """A chart's package: from ``charts`` (folder or chart repository URL), the chart's own
    repository (HTTP chart repository or ``oci://``), or the Helm cache, first found wins."""
    from eidos_cli.bundle.check.charts import ChartFinder, ChartUnavailable
    from eidos_cli.bundle.check.installplan import HelmChart

    helm = shutil.which("helm") or "helm"
    wanted = HelmChart(repository=chart.repository, name=chart.name, version=chart.version)
    tried: list[str] = []
    sources: list[str | None] = [charts] if charts else []
    own = chart.repository
    if own.startswith(("http://", "https://")):
        sources.append(own)
    for source in [*sources, None]:  # None: only the Helm cache
        if source is None and own.startswith("oci://"):
            try:
                return _oci_chart(chart, options, destination)
            except (NotFoundError, UnavailableError, ForbiddenError, TimeoutExceededError) as exc:
                tried.append(f"{own} ({exc.message})")
        finder = ChartFinder(bundle=tmp / "no-bundle", charts=source, helm=helm, download_dir=tmp)
        try:
            return finder.find(wanted).read_bytes()
        except ChartUnavailable as exc:
            tried.append(str(exc))
        except OSError as exc:  # no helm to ask for its cache; an unpacked chart folder
            tried.append(f"{source or 'the Helm cache'}: {exc}")
    raise NotFoundError(
        f"chart {chart.name} {chart.version}: not found ({'; '.join(tried)}); give --charts DIR|URL "
        "(a folder of chart packages or a chart repository)"
    )


def push_charts(
    charts: Iterable[Chart], bundle_ref: Reference, *, source: str | None, options: RegistryOptions
) -> list[PushedChart]:
    """Push each chart to ``<registry>/<repository>/charts/<name>:<its version>``."""
    pushed: list[PushedChart] = []
    seen: set[tuple[str, str]] = set()
    with tempfile.TemporaryDirectory(prefix="eidos-charts-") as tmp:
        for chart in charts:
            if (chart.name, chart.version) in seen:
                continue
            seen.add((chart.name, chart.version))
            package = find_chart(chart, source, options, bundle_ref.registry, Path(tmp))
            where = f"chart {chart.name} {chart.version}"
            meta = chart_metadata(package, where)
            name, version = str(meta.get("name", "")), str(meta.get("version", ""))
            if name != chart.name or not _same_version(version, chart.version):
                raise InvalidRequestError(f"{where}: the package found is {name} {version}")
            ref = Reference(bundle_ref.registry, f"{bundle_ref.repository}/{CHARTS_PATH}/{name}", tag_for(version))
            if not _REPOSITORY.fullmatch(ref.repository):
                raise InvalidRequestError(f"{where}: {ref.repository!r} cannot be a repository name")
            digest = connect(ref, options).push(chart_artifact(package, meta), ref.tag)
            log.info("chart pushed", extra={"reference": f"{ref}@{digest}"})
            pushed.append(PushedChart(name=name, version=version, ref=ref, digest=digest))
    return pushed
