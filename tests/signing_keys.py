"""Signing keys made by the real openssl, with exactly the commands the docs give.

``make_key(dir, kind)`` writes ``<kind>.key`` and ``<kind>.pub`` under ``dir``; kinds are
``ed25519`` and ``ecdsa`` (P-256), plus a few the bundle signer must refuse or treat specially
(``rsa``, ``p384``, ``ed25519-encrypted`` with passphrase :data:`PASSPHRASE`, ``ec-sec1``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PASSPHRASE = "correct horse"
KINDS = ("ed25519", "ecdsa")

# The README / --help commands, verbatim but for the output name.
COMMANDS = {
    "ed25519": "openssl genpkey -algorithm ed25519 -out {key}",
    "ecdsa": "openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out {key}",
    "ed25519-encrypted": f"openssl genpkey -algorithm ed25519 -aes256 -pass 'pass:{PASSPHRASE}' -out {{key}}",
    "ec-sec1": "openssl ecparam -name prime256v1 -genkey -noout -out {key}",
    "rsa": "openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out {key}",
    "p384": "openssl ecparam -name secp384r1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out {key}",
}
PUBLIC = "openssl pkey -in {key} -pubout -out {pub}"


def openssl() -> str:
    found = shutil.which("openssl")
    if found is None:
        pytest.skip("openssl is not installed (apt-get install openssl)")
    return found


def sh(command: str, cwd: Path) -> str:
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, capture_output=True, timeout=60)
    assert proc.returncode == 0, f"{command} failed ({proc.returncode}): {proc.stderr.decode()}"
    return proc.stdout.decode()


def make_key(directory: Path, kind: str) -> tuple[Path, Path]:
    """(private key, public key) made by openssl in ``directory``."""
    openssl()
    key, pub = directory / f"{kind}.key", directory / f"{kind}.pub"
    sh(COMMANDS[kind].format(key=key.name), directory)
    extra = f" -passin 'pass:{PASSPHRASE}'" if kind.endswith("-encrypted") else ""
    sh(PUBLIC.format(key=key.name, pub=pub.name) + extra, directory)
    return key, pub


def openssl_keyid(pub: Path) -> str:
    """sha256 of the public key's DER form, as the docs tell users to compute it."""
    return sh(f"openssl pkey -pubin -in {pub.name} -outform DER | sha256sum", pub.parent).split()[0]
