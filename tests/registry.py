"""A real OCI registry for tests: the CNCF distribution registry (Debian's ``docker-registry``
package; upstream's binary is called ``registry``) serving on 127.0.0.1 from a temporary folder.

* ``oci_registry`` (session): anonymous, plain HTTP.
* ``auth_registry`` (session): plain HTTP wanting Basic credentials (htpasswd; bcrypt hashes
  from the ``bcrypt`` package): user :data:`USER`, password :data:`PASSWORD`.
* ``tls_registry`` (session): HTTPS with a self-signed certificate made by ``openssl``.
* :func:`start_registry`: one of your own (a test that changes blobs in the storage uses one,
  so no other test sees the damage); stop it with :meth:`Registry.stop`.

Each skips with the reason when what it needs is absent; ``.ci/run`` installs docker-registry,
so CI never skips the registry tests. Registered for every test by tests/conftest.py.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import free_port, wait_until

USER = "alice"
PASSWORD = "s3cret-Passw0rd"


def registry_binary() -> str | None:
    for name in ("docker-registry", "registry"):
        found = shutil.which(name, path="/usr/bin:/usr/local/bin:/usr/sbin")
        if found:
            return found
    return None


def need_registry() -> str:
    binary = registry_binary()
    if binary is None:
        pytest.skip("no OCI registry binary: apt-get install docker-registry (the CNCF distribution registry)")
    return binary


@dataclass
class Registry:
    """A registry process serving ``host`` (``127.0.0.1:PORT``) from ``root``."""

    host: str
    root: Path
    log: Path
    proc: subprocess.Popen[bytes]
    scheme: str = "http"
    ca: Path | None = None  # the self-signed certificate, for TLS registries
    credentials: tuple[str, str] | None = None
    stopped: bool = field(default=False)

    def ref(self, repository: str, tag: str = "") -> str:
        return f"oci://{self.host}/{repository}" + (f":{tag}" if tag else "")

    def blob_file(self, digest: str) -> Path:
        """Where the filesystem storage keeps a blob (manifests are blobs too)."""
        hexdigest = digest.removeprefix("sha256:")
        return self.root / "docker" / "registry" / "v2" / "blobs" / "sha256" / hexdigest[:2] / hexdigest / "data"

    def manifest(self, repository: str, reference: str) -> tuple[bytes, dict[str, str]]:
        """A manifest as the registry serves it (anonymous registries only)."""
        req = urllib.request.Request(
            f"{self.scheme}://{self.host}/v2/{repository}/manifests/{reference}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read(), dict(resp.headers)

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.proc.kill()
            self.proc.wait(10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _answers(url: str, context: ssl.SSLContext | None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1, context=context):
            return True
    except urllib.error.HTTPError:  # 401: up, and wants credentials
        return True


def start_registry(
    tmp: Path, *, htpasswd: Path | None = None, tls: tuple[Path, Path] | None = None, ca: Path | None = None
) -> Registry:
    """A registry on a free port of 127.0.0.1, storage and log in ``tmp``, ready when returned."""
    binary = need_registry()
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    http: dict[str, object] = {"addr": f"127.0.0.1:{port}", "secret": "eidos-test"}
    if tls is not None:
        http["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(tmp / "storage")}, "delete": {"enabled": True}},
        "http": http,
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "eidos-test", "path": str(htpasswd)}}
    config_file = tmp / "config.yml"
    config_file.write_text(json.dumps(config))  # JSON is YAML
    log = tmp / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "serve", str(config_file)], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    scheme = "https" if tls else "http"
    registry = Registry(f"127.0.0.1:{port}", tmp / "storage", log, proc, scheme=scheme, ca=ca)
    context = ssl.create_default_context(cafile=str(ca)) if ca else None

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"registry exited with {proc.returncode}:\n{registry.log_text()}")
        return _answers(f"{scheme}://{registry.host}/v2/", context)

    try:
        wait_until(up, "the registry answering /v2/", 20, ignoring=OSError)
    except BaseException:
        registry.stop()
        raise
    return registry


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), made by openssl; skips without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl to make a certificate for the TLS registry")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry = start_registry(tmp_path_factory.mktemp("registry"))
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    need_registry()
    bcrypt = pytest.importorskip("bcrypt", reason="bcrypt makes the htpasswd entry (requirements-dev.txt)")
    tmp = tmp_path_factory.mktemp("auth-registry")
    htpasswd = tmp / "htpasswd"
    htpasswd.write_text(f"{USER}:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    registry = start_registry(tmp, htpasswd=htpasswd)
    registry.credentials = (USER, PASSWORD)
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    need_registry()
    tmp = tmp_path_factory.mktemp("tls-registry")
    cert, key = self_signed(tmp)
    registry = start_registry(tmp, tls=(cert, key), ca=cert)
    yield registry
    registry.stop()
