"""Signing a bundle's provenance and verifying a bundle: DSSE envelopes over in-toto Statements.

Signing (:func:`sign_files`): the Statement of :mod:`eidos_cli.bundle.provenance` is the payload
of a DSSE envelope (payloadType ``application/vnd.in-toto+json``), signed over the DSSE
pre-authentication encoding (PAE, securesystemslib's ``Envelope.pae``) with a PEM private key:

* **Ed25519**, or **ECDSA P-256** with SHA-256 (DER-encoded signature, deterministic nonces per
  RFC 6979, so equal inputs and key give equal bytes — random nonces where cryptography's OpenSSL
  predates 3.2). RSA and other curves are refused.
* ``keyid``: the lowercase hex sha256 of the public key's DER SubjectPublicKeyInfo — what
  ``openssl pkey -in eidos.key -pubout -outform DER | sha256sum`` prints.
* The envelope is written as :data:`~eidos_cli.bundle.provenance.ENVELOPE_FILE`
  (``provenance.intoto.jsonl``): one JSON object (sorted keys, no blanks) and a newline. It is
  added after ``checksums.txt`` and listed in neither ``checksums.txt`` nor the Statement: it
  signs both. Everything else of the bundle is a subject of the Statement.

Keys are made with openssl::

    openssl genpkey -algorithm ed25519 -out eidos.key
    openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out eidos.key
    openssl pkey -in eidos.key -pubout -out eidos.pub

An encrypted private key (``openssl genpkey … -aes256``) needs its passphrase (the CLI reads it
from ``$EIDOS_SIGNING_PASSPHRASE``).

Verifying (:func:`verify_directory`, :func:`verify_files`): every ``checksums.txt`` line against
its file, no file missing, no file present that ``checksums.txt`` does not list (besides the
envelope and the writer's ``.eidos-bundle`` record), the Statement's subjects equal to the files
and their digests, and the signature with the public key (through securesystemslib's
``SSlibKey``, an implementation independent of the signing code). The trust level:

* ``verified``: all of it holds and the envelope carries a signature of the given key;
* ``unsigned``: nothing is wrong, but no signature was checked (no envelope, or no key given);
* ``tampered``: anything else — each problem one line naming the file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import UnverifiedSignatureError

# The documented public names; the package imports them without re-exporting them (no __all__).
from securesystemslib.signer import Signature, SSlibKey  # type: ignore[attr-defined]

from eidos_cli.bundle.checksums import CHECKSUMS_FILE, checksums
from eidos_cli.bundle.paths import check_relative
from eidos_cli.bundle.provenance import (
    ENVELOPE_FILE,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    ProvenanceInputs,
    canonical_json,
    sha256_hex,
    statement_bytes,
)
from eidos_cli.bundle.writer import RECORD_FILE
from eidos_core.errors import InvalidRequestError
from eidos_core.io.local import os_error

PASSPHRASE_ENV = "EIDOS_SIGNING_PASSPHRASE"
VERIFIED = "verified"
UNSIGNED = "unsigned"
TAMPERED = "tampered"
SUPPORTED = "use ECDSA P-256 or Ed25519"
MAX_KEY_BYTES = 64 * 1024
_CHECKSUM_LINE = re.compile(r"([0-9a-f]{64})  (.+)")


# ---------------------------------------------------------------------------------------------
# Keys


def keyid_of(public_key: PublicKeyTypes) -> str:
    """The hex sha256 of the public key's DER SubjectPublicKeyInfo."""
    return hashlib.sha256(public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def _key_kind(key: PrivateKeyTypes | PublicKeyTypes) -> str:
    """'' for a supported key, else what it is, for the error message."""
    if isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
        return ""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "" if isinstance(key.curve, ec.SECP256R1) else f"ECDSA {key.curve.name}"
    name = type(key).__name__
    for suffix in ("PrivateKey", "PublicKey"):
        name = name.removesuffix(suffix)
    return name.upper() if len(name) <= 5 else name  # RSA, DSA, Ed448, X25519 …


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A loaded private key: ECDSA P-256 or Ed25519. Read once, then sign any number of bundles."""

    private_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    keyid: str
    source: str

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private_key, Ed25519PrivateKey):
            return self.private_key.sign(data)
        try:
            return self.private_key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        except UnsupportedAlgorithm:  # cryptography built against an OpenSSL older than 3.2: random nonces
            return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))

    def public_key(self) -> VerifyingKey:
        return _verifying_key(self.private_key.public_key(), self.source)

    def __repr__(self) -> str:  # never the key itself in a log line or a traceback
        return f"SigningKey(keyid={self.keyid!r}, source={self.source!r})"


@dataclass(frozen=True, slots=True)
class VerifyingKey:
    """A public key as securesystemslib verifies with it; ``source`` names it in messages."""

    key: SSlibKey
    keyid: str
    source: str


def _verifying_key(public_key: PublicKeyTypes, source: str) -> VerifyingKey:
    keyid = keyid_of(public_key)
    return VerifyingKey(key=SSlibKey.from_crypto(public_key, keyid=keyid), keyid=keyid, source=source)


def load_signing_key(pem: bytes, *, source: str = "signing key", passphrase: bytes | None = None) -> SigningKey:
    """A PEM private key (PKCS#8, or SEC1 for EC); errors name ``source`` and the problem."""
    if b"-----BEGIN PUBLIC KEY-----" in pem and b"PRIVATE KEY-----" not in pem:
        raise InvalidRequestError(f"{source}: this is a public key; signing needs the private key")
    try:
        key = load_pem_private_key(pem, password=passphrase or None)
    except TypeError as exc:  # cryptography's way to say "encrypted, no passphrase"
        if passphrase:
            raise InvalidRequestError(
                f"{source}: a passphrase was given but the private key is not encrypted"
            ) from None
        raise InvalidRequestError(
            f"{source}: the private key is encrypted and no passphrase was given (set {PASSPHRASE_ENV})"
        ) from exc
    except UnsupportedAlgorithm as exc:
        raise InvalidRequestError(f"{source}: unsupported key type ({exc}), {SUPPORTED}") from None
    except ValueError as exc:
        if passphrase and b"ENCRYPTED" in pem:
            raise InvalidRequestError(f"{source}: cannot decrypt the private key: wrong passphrase") from None
        reason = str(exc).split(". See ", 1)[0]
        raise InvalidRequestError(f"{source}: not a PEM private key ({reason})") from None
    kind = _key_kind(key)
    if kind or not isinstance(key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise InvalidRequestError(f"{source}: unsupported key type {kind}, {SUPPORTED}")
    return SigningKey(private_key=key, keyid=keyid_of(key.public_key()), source=source)


def load_public_key(pem: bytes, *, source: str = "public key") -> VerifyingKey:
    """A PEM public key (SubjectPublicKeyInfo); errors name ``source`` and the problem."""
    if b"PRIVATE KEY-----" in pem:
        raise InvalidRequestError(
            f"{source}: this is a private key; verify with the public key (openssl pkey -in KEY -pubout -out eidos.pub)"
        )
    try:
        key = load_pem_public_key(pem)
    except UnsupportedAlgorithm as exc:
        raise InvalidRequestError(f"{source}: unsupported key type ({exc}), {SUPPORTED}") from None
    except ValueError as exc:
        reason = str(exc).split(". See ", 1)[0]
        raise InvalidRequestError(f"{source}: not a PEM public key ({reason})") from None
    kind = _key_kind(key)
    if kind:
        raise InvalidRequestError(f"{source}: unsupported key type {kind}, {SUPPORTED}")
    return _verifying_key(key, source)


def _read_key_file(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as fh:  # a pipe is fine (--key <(…)): the read is bounded
            data = fh.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise os_error(exc, f"cannot read key {path}") from None
    if len(data) > MAX_KEY_BYTES:
        raise InvalidRequestError(f"{path}: larger than {MAX_KEY_BYTES} bytes: not a PEM key")
    return data


def read_signing_key(path: str | os.PathLike[str], *, passphrase: bytes | None = None) -> SigningKey:
    """The private key in file ``path``, named by that path in errors."""
    return load_signing_key(_read_key_file(path), source=os.fspath(path), passphrase=passphrase)


def read_public_key(path: str | os.PathLike[str]) -> VerifyingKey:
    """The public key in file ``path``, named by that path in errors."""
    return load_public_key(_read_key_file(path), source=os.fspath(path))


# ---------------------------------------------------------------------------------------------
# Signing


def envelope_bytes(payload: bytes, key: SigningKey) -> bytes:
    """A DSSE envelope of ``payload`` (an in-toto Statement) signed by ``key``: one JSON line."""
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    pae = envelope.pae()
    signature = Signature(keyid=key.keyid, sig=key.sign(pae).hex())
    # Checked with securesystemslib's verifier before it leaves: a signature that does not verify is a bug.
    key.public_key().key.verify_signature(signature, pae)
    envelope.signatures[key.keyid] = signature
    return canonical_json(envelope.to_dict()) + b"\n"


def sign_files(files: Mapping[str, bytes], key: bytes | SigningKey, inputs: ProvenanceInputs) -> dict[str, bytes]:
    """``files`` (a rendered bundle, ``checksums.txt`` included) plus the signed provenance envelope.

    ``key`` is a :class:`SigningKey` or PEM bytes of an unencrypted private key. ``files`` must
    be complete: ``checksums.txt`` must be the checksums of the other files.
    """
    signing_key = key if isinstance(key, SigningKey) else load_signing_key(key)
    if CHECKSUMS_FILE in files and files[CHECKSUMS_FILE] != checksums(
        {path: data for path, data in files.items() if path != CHECKSUMS_FILE}
    ):
        raise InvalidRequestError(f"the bundle's {CHECKSUMS_FILE} does not match its files: cannot sign it")
    payload = statement_bytes(files, inputs)  # refuses a bundle without checksums.txt or already signed
    return {**files, ENVELOPE_FILE: envelope_bytes(payload, signing_key)}


# ---------------------------------------------------------------------------------------------
# Verifying


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``bundle verify`` found. ``problems`` are lines naming a file; any makes it ``tampered``."""

    trust: str
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    files: int = 0
    keyid: str = ""  # the key the signature verified with
    signed_by: tuple[str, ...] = ()  # the keyids the envelope names
    builder: str = ""

    def exit_code(self, *, allow_unsigned: bool = False) -> int:
        """0 verified (or unsigned with ``allow_unsigned``), else 7 (validation failed)."""
        if self.trust == VERIFIED or (allow_unsigned and self.trust == UNSIGNED):
            return 0
        return 7

    def to_dict(self) -> dict[str, Any]:
        return {
            "trust": self.trust,
            "files": self.files,
            "problems": list(self.problems),
            "notes": list(self.notes),
            "keyid": self.keyid,
            "signedBy": list(self.signed_by),
            "builder": self.builder,
        }


def _display(name: str) -> str:
    """A file name fit for one line of output (undecodable bytes and controls escaped)."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(slots=True)
class _Findings:
    """Per file: what is wrong, and which of checksums.txt / the signed statement says so."""

    by_file: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)

    def add(self, path: str, kind: str, against: str) -> None:
        self.by_file.setdefault((path, kind), []).append(against)

    def lines(self) -> tuple[str, ...]:
        out = []
        for (path, kind), sources in sorted(self.by_file.items()):
            joined = " and ".join(sources)
            if kind == "mismatch":
                out.append(f"{_display(path)}: sha256 mismatch against {joined}")
            elif kind == "missing":
                out.append(f"{_display(path)}: missing (listed in {joined})")
            else:
                out.append(f"{_display(path)}: unexpected file (not in {' or '.join(sources)})")
        return (*out, *self.other)


def _parse_checksums(data: bytes, findings: _Findings) -> dict[str, str]:
    listed: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        findings.other.append(f"{CHECKSUMS_FILE}: not UTF-8 text")
        return listed
    for number, line in enumerate(text.split("\n"), 1):
        if not line and number == text.count("\n") + 1:
            break  # the end of the last line
        match = _CHECKSUM_LINE.fullmatch(line)
        if not match:
            findings.other.append(f"{CHECKSUMS_FILE}: line {number} is not '<sha256>  <path>'")
            continue
        digest, path = match.groups()
        try:
            check_relative(path)
        except InvalidRequestError:
            findings.other.append(
                f"{CHECKSUMS_FILE}: line {number}: {_display(path)!r} is not a path inside the bundle"
            )
            continue
        if path in listed:
            findings.other.append(f"{CHECKSUMS_FILE}: line {number}: {_display(path)} is listed twice")
            continue
        if path in (CHECKSUMS_FILE, ENVELOPE_FILE):
            findings.other.append(f"{CHECKSUMS_FILE}: line {number}: {path} cannot be listed (it covers the others)")
            continue
        listed[path] = digest
    return listed


@dataclass(frozen=True, slots=True)
class _Envelope:
    payload: bytes
    payload_type: str
    signatures: tuple[tuple[str, bytes], ...]  # (keyid, signature)


def _b64(value: Any) -> bytes | None:
    """Strict standard base64 (canonical: re-encoding gives the same text), else None."""
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    return raw if base64.standard_b64encode(raw).decode() == value else None


def _parse_envelope(data: bytes, problems: list[str]) -> _Envelope | None:
    where = ENVELOPE_FILE
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{where}: not a JSON DSSE envelope ({exc})")
        return None
    if not isinstance(document, dict) or set(document) != {"payload", "payloadType", "signatures"}:
        problems.append(f"{where}: not a DSSE envelope (payload, payloadType and signatures, nothing else)")
        return None
    if canonical_json(document) + b"\n" != data:
        problems.append(f"{where}: not as eidos writes it (edited after signing?)")
        return None
    payload = _b64(document["payload"])
    if payload is None:
        problems.append(f"{where}: payload is not canonical base64")
        return None
    if document["payloadType"] != PAYLOAD_TYPE:
        problems.append(f"{where}: payloadType {document['payloadType']!r}, expected {PAYLOAD_TYPE!r}")
        return None
    raw_signatures = document["signatures"]
    signatures: list[tuple[str, bytes]] = []
    if not isinstance(raw_signatures, list) or not raw_signatures:
        problems.append(f"{where}: no signatures")
        return None
    for item in raw_signatures:
        sig = _b64(item.get("sig")) if isinstance(item, dict) else None
        keyid = item.get("keyid") if isinstance(item, dict) else None
        if sig is None or not isinstance(keyid, str) or set(item) != {"keyid", "sig"}:
            problems.append(f"{where}: a signature is not {{keyid, sig}} with canonical base64")
            return None
        signatures.append((keyid, sig))
    return _Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures=tuple(signatures))


def _statement_subjects(payload: bytes, problems: list[str]) -> tuple[dict[str, str], str] | None:
    """The Statement's subjects (path → sha256) and its builder id."""
    where = f"{ENVELOPE_FILE}: statement"
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        problems.append(f"{where} is not JSON")
        return None
    if not isinstance(document, dict) or document.get("_type") != STATEMENT_TYPE:
        problems.append(f"{where} is not an in-toto v1 Statement (_type {STATEMENT_TYPE})")
        return None
    if document.get("predicateType") != PREDICATE_TYPE:
        problems.append(f"{where}: predicateType is not {PREDICATE_TYPE}")
        return None
    subjects: dict[str, str] = {}
    raw = document.get("subject")
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where} has no subjects")
        return None
    for item in raw:
        name = item.get("name") if isinstance(item, dict) else None
        digest = item.get("digest") if isinstance(item, dict) else None
        value = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(name, str) or not isinstance(value, str):
            problems.append(f"{where}: a subject without a name and a sha256 digest")
            return None
        if name in subjects:
            problems.append(f"{where}: subject {_display(name)} is listed twice")
            return None
        subjects[name] = value
    predicate = document.get("predicate")
    builder = ""
    if isinstance(predicate, dict):
        run = predicate.get("runDetails")
        if isinstance(run, dict) and isinstance(run.get("builder"), dict):
            builder = str(run["builder"].get("id", ""))
    return subjects, builder


def _check_signature(envelope: _Envelope, key: VerifyingKey, problems: list[str]) -> bool:
    """True when a signature of ``key`` (same keyid) verifies over the envelope's PAE."""
    pae = Envelope(payload=envelope.payload, payload_type=envelope.payload_type, signatures={}).pae()
    named = [sig for keyid, sig in envelope.signatures if keyid == key.keyid]
    for sig in named:
        try:
            key.key.verify_signature(Signature(keyid=key.keyid, sig=sig.hex()), pae)
            return True
        except UnverifiedSignatureError:
            continue
    others = ", ".join(keyid for keyid, _ in envelope.signatures if keyid != key.keyid)
    why = f"; the envelope is signed by keyid {others}" if others and not named else ""
    problems.append(f"{ENVELOPE_FILE}: signature does not verify with {key.source} (keyid {key.keyid}{why})")
    return False


def verify_files(files: Mapping[str, bytes], key: VerifyingKey | None, *, problems: Sequence[str] = ()) -> VerifyReport:
    """Verify a bundle given as relative path → bytes (every file found, the envelope included).

    ``problems`` are ones already found (by :func:`verify_directory`: symlinks, special files).
    """
    findings = _Findings(other=list(problems))
    notes: list[str] = []
    digests = {path: sha256_hex(data) for path, data in files.items() if path != ENVELOPE_FILE}

    # checksums.txt: every line holds, nothing missing, nothing unlisted.
    if CHECKSUMS_FILE in files:
        listed = _parse_checksums(files[CHECKSUMS_FILE], findings)
        for path, digest in listed.items():
            if path not in digests:
                findings.add(path, "missing", CHECKSUMS_FILE)
            elif digests[path] != digest:
                findings.add(path, "mismatch", CHECKSUMS_FILE)
        for path in digests:
            if path not in listed and path != CHECKSUMS_FILE:
                findings.add(path, "unexpected", CHECKSUMS_FILE)

    # The envelope: its Statement's subjects are exactly the files, then the signature.
    envelope_problems: list[str] = []
    envelope: _Envelope | None = None
    signed_by: tuple[str, ...] = ()
    builder = ""
    if ENVELOPE_FILE in files:
        envelope = _parse_envelope(files[ENVELOPE_FILE], envelope_problems)
    if envelope is not None:
        signed_by = tuple(keyid for keyid, _ in envelope.signatures)
        parsed = _statement_subjects(envelope.payload, envelope_problems)
        if parsed is not None:
            subjects, builder = parsed
            for path, digest in subjects.items():
                if path not in digests:
                    findings.add(path, "missing", "the signed statement")
                elif digests[path] != digest:
                    findings.add(path, "mismatch", "the signed statement")
            for path in digests:
                if path not in subjects:
                    findings.add(path, "unexpected", "the signed statement")
    verified = False
    if envelope is not None and key is not None:
        verified = _check_signature(envelope, key, envelope_problems)
    findings.other.extend(envelope_problems)
    if CHECKSUMS_FILE not in files and (CHECKSUMS_FILE, "missing") not in findings.by_file:
        findings.other.insert(0, f"{CHECKSUMS_FILE}: missing")  # (the signed statement says so itself)

    lines = findings.lines()
    if ENVELOPE_FILE not in files:
        notes.append(f"no {ENVELOPE_FILE}: the bundle is not signed; only checksums.txt was checked")
    elif key is None and envelope is not None:
        notes.append(f"signature not checked: no public key given (signed by keyid {', '.join(signed_by)})")
    trust = TAMPERED if lines else VERIFIED if verified else UNSIGNED
    return VerifyReport(
        trust=trust,
        problems=lines,
        notes=tuple(notes),
        files=len(files),
        keyid=key.keyid if verified and key is not None else "",
        signed_by=signed_by,
        builder=builder,
    )


def _read_tree(root: Path) -> tuple[dict[str, bytes], list[str]]:
    """Every regular file under ``root`` (relative ``/`` path → bytes), never through a symlink;
    anything else found is a problem. The writer's own record at the top is skipped."""
    files: dict[str, bytes] = {}
    problems: list[str] = []

    def walk_error(exc: OSError) -> None:
        problems.append(f"{_display(os.path.relpath(exc.filename or str(root), root))}: cannot read ({exc.strerror})")

    for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error):
        base = Path(dirpath)
        for name in sorted(dirnames):
            if (base / name).is_symlink():  # os.walk lists it but does not enter it
                rel = (base / name).relative_to(root).as_posix()
                problems.append(f"{_display(rel)}: a symlink, not a file or directory of the bundle")
        for name in sorted(filenames):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if rel == RECORD_FILE:
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                problems.append(f"{_display(rel)}: a symlink, not a file of the bundle")
            elif not stat.S_ISREG(st.st_mode):
                problems.append(f"{_display(rel)}: not a regular file")
            else:
                try:
                    files[rel] = path.read_bytes()
                except OSError as exc:
                    problems.append(f"{_display(rel)}: cannot read ({exc.strerror})")
    return files, problems


def verify_directory(
    path: str | os.PathLike[str], public_key: bytes | VerifyingKey | None, *, key_source: str = "public key"
) -> VerifyReport:
    """Verify the bundle in directory ``path``; ``public_key`` as PEM bytes, loaded, or None (no signature check).

    A directory that cannot be read is an error (exit 3/4/2), not a report.
    """
    key = load_public_key(public_key, source=key_source) if isinstance(public_key, bytes) else public_key
    root = Path(path)
    try:
        st = root.stat()
    except OSError as exc:
        raise os_error(exc, f"cannot read bundle {path}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidRequestError(f"{path}: not a directory (bundle verify reads a bundle directory)")
    try:
        files, problems = _read_tree(root)
    except OSError as exc:  # pragma: no cover - a race with someone deleting the bundle
        raise os_error(exc, f"cannot read bundle {path}") from None
    return verify_files(files, key, problems=problems)


__all__ = [
    "PASSPHRASE_ENV",
    "TAMPERED",
    "UNSIGNED",
    "VERIFIED",
    "SigningKey",
    "VerifyReport",
    "VerifyingKey",
    "envelope_bytes",
    "keyid_of",
    "load_public_key",
    "load_signing_key",
    "read_public_key",
    "read_signing_key",
    "sign_files",
    "verify_directory",
    "verify_files",
]
