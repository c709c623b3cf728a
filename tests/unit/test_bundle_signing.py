"""Provenance Statements, DSSE envelopes and bundle verification, in memory.

The Statement (subjects, SLSA predicate, determinism), the DSSE pre-authentication encoding
against the spec's own example, signatures checked by ``cryptography`` directly over a PAE built
here by hand (not through the code under test), keys made by the real openssl, and
``verify_files`` on a real rendered bundle: clean, then every byte of the envelope and bytes of
every other file changed one at a time.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope

from eidos_cli.bundle.bundler import BundleOptions, render_bundle
from eidos_cli.bundle.checksums import CHECKSUMS_FILE, checksums
from eidos_cli.bundle.overrides import parse_set
from eidos_cli.bundle.provenance import (
    BUILD_TYPE,
    ENVELOPE_FILE,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    ProvenanceInputs,
    statement,
    statement_bytes,
)
from eidos_cli.bundle.scheduling import scheduling_from_flags
from eidos_cli.bundle.signing import (
    TAMPERED,
    UNSIGNED,
    VERIFIED,
    SigningKey,
    VerifyingKey,
    keyid_of,
    load_public_key,
    load_signing_key,
    read_public_key,
    read_signing_key,
    sign_files,
    verify_files,
)
from eidos_core.errors import EidosError, InvalidRequestError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.model import Recipe, RecipeStore
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.sources.embedded import embedded_store
from tests.signing_keys import KINDS, PASSPHRASE, make_key, openssl_keyid

CRITERIA = Criteria(service="eks", accelerator="h100", intent="training")


@pytest.fixture(scope="module")
def store() -> RecipeStore:
    return embedded_store()


@pytest.fixture(scope="module")
def recipe(store: RecipeStore) -> Recipe:
    return recipe_from_document(recipe_to_document(build_recipe(store, CRITERIA), "0.1.0"))


@pytest.fixture(scope="module")
def inputs(recipe: Recipe, store: RecipeStore) -> ProvenanceInputs:
    return ProvenanceInputs.of(recipe, store, BundleOptions(), recipe_uri="recipe.yaml")


@pytest.fixture(scope="module")
def files(recipe: Recipe, store: RecipeStore) -> Mapping[str, bytes]:
    return render_bundle(recipe, store, BundleOptions()).files


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module", params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture(scope="module")
def keys(keydir: Path, kind: str) -> tuple[SigningKey, VerifyingKey, Path]:
    key, pub = make_key(keydir, kind)
    return read_signing_key(key), read_public_key(pub), pub


@pytest.fixture(scope="module")
def signed(
    files: Mapping[str, bytes], inputs: ProvenanceInputs, keys: tuple[SigningKey, VerifyingKey, Path]
) -> dict[str, bytes]:
    return sign_files(files, keys[0], inputs)


def envelope_of(signed: Mapping[str, bytes]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(signed[ENVELOPE_FILE])
    return document


def payload_of(signed: Mapping[str, bytes]) -> bytes:
    return base64.b64decode(str(envelope_of(signed)["payload"]))


# -- the Statement --------------------------------------------------------------------------------


def test_subjects_are_every_file_with_its_sha256(files: Mapping[str, bytes], inputs: ProvenanceInputs) -> None:
    doc = statement(files, inputs)
    assert doc["_type"] == STATEMENT_TYPE and doc["predicateType"] == PREDICATE_TYPE
    names = [s["name"] for s in doc["subject"]]
    assert names == sorted(files) and "recipe.yaml" in names and CHECKSUMS_FILE in names
    assert ENVELOPE_FILE not in names
    for subject in doc["subject"]:
        assert subject["digest"] == {"sha256": hashlib.sha256(files[subject["name"]]).hexdigest()}


def test_predicate_is_slsa_provenance_of_the_recipe_and_options(
    files: Mapping[str, bytes], recipe: Recipe, store: RecipeStore
) -> None:
    options = BundleOptions(
        deployer="argocd",
        repo="https://github.com/acme/gpu.git",
        overrides=parse_set(["gpuoperator:driver.version=580.82.07"]),
        disabled=("nvsentinel",),
        scheduling=scheduling_from_flags(
            system_selectors=["nodeGroup=system"], accelerated_tolerations=["dedicated=gpu:NoExecute"]
        ),
        bundler_version="9.8.7",
    )
    inputs = ProvenanceInputs.of(recipe, store, options, recipe_uri="https://bob:s3cret@example.com/r.yaml?x=1")
    predicate = statement(files, inputs)["predicate"]
    build = predicate["buildDefinition"]
    assert build["buildType"] == BUILD_TYPE
    assert build["externalParameters"] == {
        "recipe": "https://example.com/r.yaml?x=1",  # credentials never written
        "deployer": "argocd",
        "repo": "https://github.com/acme/gpu.git",
        "set": ["gpuoperator:driver.version=580.82.07"],
        "disable": ["nvsentinel"],
        "nodeScheduling": {
            "system": {"nodeSelector": {"nodeGroup": "system"}, "tolerations": None},
            "accelerated": {
                "nodeSelector": {},
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoExecute"}],
            },
        },
    }
    internal = build["internalParameters"]
    assert internal["recipe"]["criteria"] == {
        "service": "eks",
        "accelerator": "h100",
        "intent": "training",
        "os": "any",
    }
    assert internal["recipe"]["version"] == "0.1.0" and "h100" in internal["recipe"]["appliedOverlays"]
    assert internal["recipeData"] == {"source": "embedded", "version": store.version}
    assert build["resolvedDependencies"] == [
        {
            "name": "recipe.yaml",
            "uri": "https://example.com/r.yaml?x=1",
            "digest": {"sha256": hashlib.sha256(files["recipe.yaml"]).hexdigest()},
        }
    ]
    assert predicate["runDetails"] == {
        "builder": {"id": "https://eidos.nvidia.com/eidos-cli@v9.8.7", "version": {"eidos": "9.8.7"}}
    }


def test_statement_is_deterministic_and_times_are_inputs(files: Mapping[str, bytes], inputs: ProvenanceInputs) -> None:
    first = statement_bytes(files, inputs)
    assert statement_bytes(dict(reversed(list(files.items()))), inputs) == first
    assert b"startedOn" not in first and b"invocationId" not in first
    start = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    timed = replace(inputs, started_on=start, finished_on=start + timedelta(seconds=1), invocation_id="req-1")
    metadata = json.loads(statement_bytes(files, timed))["predicate"]["runDetails"]["metadata"]
    assert metadata == {
        "invocationId": "req-1",
        "startedOn": "2025-01-02T01:04:05Z",
        "finishedOn": "2025-01-02T01:04:06Z",
    }
    assert statement_bytes(files, timed) == statement_bytes(files, timed)
    with pytest.raises(ValueError, match="timezone"):
        statement_bytes(files, replace(inputs, started_on=datetime(2025, 1, 1)))


def test_statement_needs_checksums_and_is_made_once(files: Mapping[str, bytes], inputs: ProvenanceInputs) -> None:
    without = {k: v for k, v in files.items() if k != CHECKSUMS_FILE}
    with pytest.raises(InvalidRequestError, match=r"no checksums\.txt"):
        statement(without, inputs)
    with pytest.raises(InvalidRequestError, match="already has"):
        statement({**files, ENVELOPE_FILE: b"{}\n"}, inputs)


# -- DSSE -----------------------------------------------------------------------------------------


def test_pae_is_the_dsse_spec_encoding() -> None:
    # The example of the DSSE protocol document.
    envelope = Envelope(payload=b"hello world", payload_type="http://example.com/HelloWorld", signatures={})
    assert envelope.pae() == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def hand_pae(payload: bytes) -> bytes:
    kind = PAYLOAD_TYPE.encode()
    return b"DSSEv1 " + str(len(kind)).encode() + b" " + kind + b" " + str(len(payload)).encode() + b" " + payload


def test_envelope_signature_verifies_with_cryptography_over_a_hand_made_pae(
    signed: Mapping[str, bytes], keys: tuple[SigningKey, VerifyingKey, Path], inputs: ProvenanceInputs
) -> None:
    envelope = envelope_of(signed)
    assert set(envelope) == {"payload", "payloadType", "signatures"}
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    payload = payload_of(signed)
    assert payload == statement_bytes({k: v for k, v in signed.items() if k != ENVELOPE_FILE}, inputs)
    [signature] = envelope["signatures"]
    assert signature["keyid"] == openssl_keyid(keys[2])
    sig = base64.b64decode(signature["sig"])
    public = load_pem_public_key(keys[2].read_bytes())
    if isinstance(public, Ed25519PublicKey):
        public.verify(sig, hand_pae(payload))
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(sig, hand_pae(payload), ec.ECDSA(hashes.SHA256()))
    assert signed[ENVELOPE_FILE].endswith(b"}\n") and signed[ENVELOPE_FILE].count(b"\n") == 1


def test_sign_files_adds_the_envelope_and_is_deterministic(
    files: Mapping[str, bytes], inputs: ProvenanceInputs, keys: tuple[SigningKey, VerifyingKey, Path]
) -> None:
    before = dict(files)
    first = sign_files(files, keys[0], inputs)
    assert dict(files) == before  # not modified
    assert list(first)[-1] == ENVELOPE_FILE and {k: v for k, v in first.items() if k != ENVELOPE_FILE} == before
    # Ed25519 is deterministic by design, ECDSA by RFC 6979 nonces: same inputs, same bytes.
    assert sign_files(files, keys[0], inputs) == first
    # PEM bytes work as well as a loaded key.
    pem = (keys[2].parent / keys[2].name.replace(".pub", ".key")).read_bytes()
    assert sign_files(files, pem, inputs) == first


def test_sign_files_refuses_inconsistent_checksums(
    files: Mapping[str, bytes], inputs: ProvenanceInputs, keys: tuple[SigningKey, VerifyingKey, Path]
) -> None:
    edited = {**files, "recipe.yaml": files["recipe.yaml"] + b"# edited\n"}
    with pytest.raises(InvalidRequestError, match=r"checksums\.txt does not match"):
        sign_files(edited, keys[0], inputs)


# -- keys -----------------------------------------------------------------------------------------


def test_keyid_is_the_sha256_of_the_der_public_key(keys: tuple[SigningKey, VerifyingKey, Path]) -> None:
    signing, verifying, pub = keys
    assert signing.keyid == verifying.keyid == openssl_keyid(pub) == keyid_of(signing.private_key.public_key())
    assert "PRIVATE" not in repr(signing) and signing.keyid in repr(signing)


def test_sec1_ec_key_and_encrypted_key_with_passphrase_load(keydir: Path) -> None:
    key, pub = make_key(keydir, "ec-sec1")
    assert read_signing_key(key).keyid == openssl_keyid(pub)
    key, pub = make_key(keydir, "ed25519-encrypted")
    assert read_signing_key(key, passphrase=PASSPHRASE.encode()).keyid == openssl_keyid(pub)


@pytest.mark.parametrize(
    ("kind", "passphrase", "message"),
    [
        ("ed25519-encrypted", None, "the private key is encrypted and no passphrase was given"),
        ("ed25519-encrypted", b"wrong", "cannot decrypt the private key: wrong passphrase"),
        ("ed25519", b"x", "a passphrase was given but the private key is not encrypted"),
        ("rsa", None, "unsupported key type RSA, use ECDSA P-256 or Ed25519"),
        ("p384", None, "unsupported key type ECDSA secp384r1, use ECDSA P-256 or Ed25519"),
    ],
)
def test_private_key_errors_name_the_file_and_the_problem(
    keydir: Path, kind: str, passphrase: bytes | None, message: str
) -> None:
    key, _ = make_key(keydir, kind)
    with pytest.raises(InvalidRequestError) as info:
        read_signing_key(key, passphrase=passphrase)
    assert info.value.message.startswith(f"{key}: ") and message in info.value.message


def test_wrong_kinds_of_key_files(keydir: Path) -> None:
    key, pub = make_key(keydir, "ed25519")
    with pytest.raises(InvalidRequestError, match="this is a public key; signing needs the private key"):
        read_signing_key(pub)
    with pytest.raises(InvalidRequestError, match="this is a private key; verify with the public key"):
        read_public_key(key)
    with pytest.raises(InvalidRequestError, match=r"^garbage\.pem: not a PEM private key"):
        load_signing_key(b"not a key", source="garbage.pem")
    with pytest.raises(InvalidRequestError, match=r"^garbage\.pub: not a PEM public key"):
        load_public_key(b"not a key", source="garbage.pub")
    _, rsa_pub = make_key(keydir, "rsa")
    with pytest.raises(InvalidRequestError, match="unsupported key type RSA"):
        read_public_key(rsa_pub)
    with pytest.raises(EidosError, match="cannot read key .*absent.pub: No such file") as info:
        read_public_key(keydir / "absent.pub")
    assert info.value.exit_code == 3
    with pytest.raises(EidosError, match="is a directory") as info:
        read_signing_key(keydir)
    assert info.value.exit_code == 2


# -- verify_files ---------------------------------------------------------------------------------


def test_clean_signed_bundle_verifies(signed: Mapping[str, bytes], keys: tuple[SigningKey, VerifyingKey, Path]) -> None:
    report = verify_files(signed, keys[1])
    assert report.trust == VERIFIED and report.problems == () and report.exit_code() == 0
    assert report.keyid == keys[1].keyid and report.signed_by == (keys[1].keyid,)
    assert report.builder.startswith("https://eidos.nvidia.com/eidos-cli@v")
    unchecked = verify_files(signed, None)
    assert unchecked.trust == UNSIGNED and unchecked.exit_code() == 7 and unchecked.exit_code(allow_unsigned=True) == 0
    assert "signature not checked" in unchecked.notes[0]


def test_unsigned_bundle(files: Mapping[str, bytes], keys: tuple[SigningKey, VerifyingKey, Path]) -> None:
    for key in (None, keys[1]):
        report = verify_files(files, key)
        assert report.trust == UNSIGNED and report.problems == () and report.exit_code() == 7
        assert "not signed" in report.notes[0]


def flipped(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_every_byte_of_the_envelope_matters(
    signed: Mapping[str, bytes], keys: tuple[SigningKey, VerifyingKey, Path]
) -> None:
    envelope = signed[ENVELOPE_FILE]
    passed = [
        i
        for i in range(len(envelope))
        if verify_files({**signed, ENVELOPE_FILE: flipped(envelope, i)}, keys[1]).trust != TAMPERED
    ]
    assert passed == []
    report = verify_files({**signed, ENVELOPE_FILE: flipped(envelope, len(envelope) // 2)}, keys[1])
    assert all(line.startswith(f"{ENVELOPE_FILE}: ") for line in report.problems)


def test_a_changed_byte_of_any_file_is_named(
    signed: Mapping[str, bytes], keys: tuple[SigningKey, VerifyingKey, Path]
) -> None:
    for path, data in signed.items():
        if path == ENVELOPE_FILE:
            continue
        for index in sorted({0, len(data) // 2, len(data) - 1}):
            report = verify_files({**signed, path: flipped(data, index)}, keys[1])
            assert report.trust == TAMPERED, (path, index)
            assert any(line.startswith(f"{path}: ") for line in report.problems), (path, index, report.problems)


def test_problem_lines(signed: Mapping[str, bytes], keys: tuple[SigningKey, VerifyingKey, Path]) -> None:
    values = "gpu-operator/values.yaml"
    changed = verify_files({**signed, values: signed[values] + b"\n"}, keys[1])
    assert changed.problems == (f"{values}: sha256 mismatch against checksums.txt and the signed statement",)
    added = verify_files({**signed, "extra.yaml": b"a: 1\n"}, keys[1])
    assert added.problems == ("extra.yaml: unexpected file (not in checksums.txt or the signed statement)",)
    removed = verify_files({k: v for k, v in signed.items() if k != values}, keys[1])
    assert removed.problems == (f"{values}: missing (listed in checksums.txt and the signed statement)",)
    no_sums = verify_files({k: v for k, v in signed.items() if k != CHECKSUMS_FILE}, keys[1])
    assert no_sums.problems == ("checksums.txt: missing (listed in the signed statement)",)
    assert verify_files({k: v for k, v in signed.items() if k != CHECKSUMS_FILE}, None).problems == (
        "checksums.txt: missing (listed in the signed statement)",
    )
    unsigned = {k: v for k, v in signed.items() if k not in (CHECKSUMS_FILE, ENVELOPE_FILE)}
    assert verify_files(unsigned, None).problems == ("checksums.txt: missing",)
    hostile = signed[CHECKSUMS_FILE] + b"0" * 64 + b"  ../../etc/passwd\nnot a line\n"
    report = verify_files({**signed, CHECKSUMS_FILE: hostile}, None)
    line = signed[CHECKSUMS_FILE].count(b"\n") + 1
    assert f"checksums.txt: line {line}: '../../etc/passwd' is not a path inside the bundle" in report.problems
    assert f"checksums.txt: line {line + 1} is not '<sha256>  <path>'" in report.problems


def test_unsigned_tampering_is_still_caught(files: Mapping[str, bytes]) -> None:
    values = "gpu-operator/values.yaml"
    report = verify_files({**files, values: flipped(files[values], 3)}, None)
    assert report.trust == TAMPERED and report.problems == (f"{values}: sha256 mismatch against checksums.txt",)
    assert report.exit_code(allow_unsigned=True) == 7


def test_another_key(signed: Mapping[str, bytes], keydir: Path, kind: str) -> None:
    _, other = make_key(_other_dir(keydir), kind)
    report = verify_files(signed, read_public_key(other))
    assert report.trust == TAMPERED and report.exit_code() == 7
    [line] = report.problems
    assert line.startswith(f"{ENVELOPE_FILE}: signature does not verify with {other} (keyid {openssl_keyid(other)}; ")
    assert "the envelope is signed by keyid" in line


def _other_dir(keydir: Path) -> Path:
    other = keydir / "other"
    other.mkdir(exist_ok=True)
    return other


def test_a_forged_signature_under_the_right_keyid(
    signed: Mapping[str, bytes],
    keys: tuple[SigningKey, VerifyingKey, Path],
    keydir: Path,
    kind: str,
    inputs: ProvenanceInputs,
) -> None:
    # Someone re-signs an edited bundle with their key but writes our keyid into the envelope.
    mallory_key, _ = make_key(_other_dir(keydir), kind)
    edited = {k: v for k, v in signed.items() if k != ENVELOPE_FILE}
    edited["gpu-operator/values.yaml"] += b"# mallory\n"
    edited[CHECKSUMS_FILE] = checksums({k: v for k, v in edited.items() if k != CHECKSUMS_FILE})
    forged = sign_files(edited, read_signing_key(mallory_key), inputs)
    envelope = json.loads(forged[ENVELOPE_FILE])
    envelope["signatures"][0]["keyid"] = keys[1].keyid
    forged[ENVELOPE_FILE] = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    report = verify_files(forged, keys[1])
    assert report.trust == TAMPERED
    assert report.problems == (f"{ENVELOPE_FILE}: signature does not verify with {keys[2]} (keyid {keys[1].keyid})",)


def test_report_document(signed: Mapping[str, bytes], keys: tuple[SigningKey, VerifyingKey, Path]) -> None:
    doc = verify_files(signed, keys[1]).to_dict()
    assert doc["trust"] == "verified" and doc["files"] == len(signed) and doc["problems"] == []
    assert doc["keyid"] == keys[1].keyid and doc["signedBy"] == [keys[1].keyid]
    assert json.loads(json.dumps(doc)) == doc
