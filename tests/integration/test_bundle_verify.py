"""``eidos-cli bundle verify`` on bundles written to disk, with keys made by the real openssl.

Each bundle is rendered from the embedded recipe data, signed with ``sign_files`` (what
``bundle --sign`` does) and written by the bundle writer; ``verify`` runs through the CLI's
``main``. A clean bundle verifies with both key types; one changed byte in any of several files
(recipe.yaml, checksums.txt and the envelope included), an added file, a removed file, a symlink
or another key each give ``tampered``, a line naming the file, and exit 7. The envelope's
signature is also checked by openssl itself, over a PAE file written here by hand.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from eidos_cli import __main__ as cli_main
from eidos_cli.bundle import oci
from eidos_cli.bundle.bundler import BundleOptions, render_bundle
from eidos_cli.bundle.provenance import ENVELOPE_FILE, PAYLOAD_TYPE, ProvenanceInputs
from eidos_cli.bundle.signing import read_signing_key, sign_files
from eidos_cli.bundle.writer import RECORD_FILE, write_bundle
from eidos_cli.commands import bundle_verify
from eidos_cli.parser import Parser
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.sources.embedded import embedded_store
from tests.registry import Registry
from tests.signing_keys import COMMANDS, KINDS, PASSPHRASE, PUBLIC, make_key, openssl_keyid, sh

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """``eidos-cli ARGS`` → (exit code, stdout, stderr), with ``bundle verify`` attached (a no-op
    once ``__main__`` attaches it itself)."""
    build = cli_main.build_parser

    def build_parser() -> Parser:
        parser = build()
        bundle_verify.attach(parser.subcommands["bundle"])
        return parser

    monkeypatch.setattr(cli_main, "build_parser", build_parser)

    def run(*argv: str | Path) -> tuple[int, str, str]:
        try:
            code = cli_main.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def rendered() -> tuple[dict[str, bytes], ProvenanceInputs]:
    store = embedded_store()
    recipe = recipe_from_document(
        recipe_to_document(build_recipe(store, Criteria(service="eks", accelerator="h100", intent="training")), "0.1.0")
    )
    options = BundleOptions()
    return dict(render_bundle(recipe, store, options).files), ProvenanceInputs.of(
        recipe, store, options, recipe_uri="recipe.yaml"
    )


@pytest.fixture(params=KINDS)
def signed_bundle(
    request: pytest.FixtureRequest, tmp_path: Path, keydir: Path, rendered: tuple[dict[str, bytes], ProvenanceInputs]
) -> tuple[Path, Path]:
    """(bundle directory, public key) of a bundle signed with a fresh openssl key."""
    key, pub = make_key(keydir, request.param)
    files, inputs = rendered
    bundle = write_bundle(sign_files(files, read_signing_key(key), inputs), tmp_path / "bundle")
    return bundle, pub


def test_clean_signed_bundle_verifies(cli: Run, signed_bundle: tuple[Path, Path]) -> None:
    bundle, pub = signed_bundle
    assert (bundle / RECORD_FILE).is_file()  # the writer's record is there and not a problem
    code, out, _ = cli("bundle", "verify", bundle, "--key", pub)
    assert code == 0, out
    assert out == f"verified: {bundle} (16 files; signature of keyid {openssl_keyid(pub)})\n"
    code, out, _ = cli("bundle", "verify", bundle, "--key", pub, "-t", "json")
    doc = json.loads(out)
    assert code == 0 and doc["trust"] == "verified" and doc["problems"] == [] and doc["keyid"] == openssl_keyid(pub)


def test_openssl_verifies_the_envelope_signature(signed_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed_bundle
    envelope = json.loads((bundle / ENVELOPE_FILE).read_bytes())
    payload = base64.b64decode(envelope["payload"])
    kind = PAYLOAD_TYPE.encode()
    (tmp_path / "pae.bin").write_bytes(b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload))
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(envelope["signatures"][0]["sig"]))
    (tmp_path / "key.pub").write_bytes(pub.read_bytes())
    if "ed25519" in pub.name:
        command = "openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in pae.bin -sigfile sig.bin"
    else:
        command = "openssl dgst -sha256 -verify key.pub -signature sig.bin pae.bin"
    assert "Verified" in sh(command, tmp_path) or "Success" in sh(command, tmp_path)
    (tmp_path / "pae.bin").write_bytes((tmp_path / "pae.bin").read_bytes().replace(b"eidos", b"eidoz", 1))
    with pytest.raises(AssertionError):
        sh(command, tmp_path)


def flip(path: Path, index: int | None = None) -> None:
    data = path.read_bytes()
    i = len(data) // 2 if index is None else index
    path.write_bytes(data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1 :])


@pytest.mark.parametrize(
    "name",
    [
        "recipe.yaml",
        "checksums.txt",
        ENVELOPE_FILE,
        "gpu-operator/values.yaml",
        "gpu-operator/manifests/dcgm-metrics.yaml",
        "deploy.sh",
        "install-plan.yaml",
    ],
)
def test_a_changed_byte_is_tampering(cli: Run, signed_bundle: tuple[Path, Path], name: str) -> None:
    bundle, pub = signed_bundle
    flip(bundle / name)
    code, out, _ = cli("bundle", "verify", bundle, "--key", pub)
    lines = out.splitlines()
    assert code == 7 and lines[0].startswith(f"tampered: {bundle} "), out
    assert any(line.startswith(f"{name}: ") for line in lines[1:]), out


def test_a_changed_values_file_names_it(cli: Run, signed_bundle: tuple[Path, Path]) -> None:
    bundle, pub = signed_bundle
    flip(bundle / "gpu-operator/values.yaml", 0)
    code, out, _ = cli("bundle", "verify", bundle, "--key", pub)
    assert code == 7
    assert out.splitlines()[1:] == [
        "gpu-operator/values.yaml: sha256 mismatch against checksums.txt and the signed statement"
    ]


def test_an_added_file(cli: Run, signed_bundle: tuple[Path, Path]) -> None:
    bundle, pub = signed_bundle
    (bundle / "gpu-operator/manifests/backdoor.yaml").write_text("kind: ClusterRoleBinding\n")
    code, out, _ = cli("bundle", "verify", bundle, "--key", pub)
    assert code == 7 and out.splitlines()[1:] == [
        "gpu-operator/manifests/backdoor.yaml: unexpected file (not in checksums.txt or the signed statement)"
    ]


def test_a_removed_file(cli: Run, signed_bundle: tuple[Path, Path]) -> None:
    bundle, pub = signed_bundle
    (bundle / "nvsentinel/values.yaml").unlink()
    code, out, _ = cli("bundle", "verify", bundle, "--key", pub)
    assert code == 7 and out.splitlines()[1:] == [
        "nvsentinel/values.yaml: missing (listed in checksums.txt and the signed statement)"
    ]


def test_a_symlink_is_not_followed(cli: Run, signed_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed_bundle
    target = bundle / "cert-manager/values.yaml"
    outside = tmp_path / "outside.yaml"
    outside.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside)
    code, out, _ = cli("bundle", "verify", bundle, "--key", pub)
    assert code == 7
    assert "cert-manager/values.yaml: a symlink, not a file of the bundle" in out.splitlines()


def test_another_key(cli: Run, signed_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed_bundle
    _, other = make_key(tmp_path, "ecdsa" if "ed25519" in pub.name else "ed25519")
    code, out, _ = cli("bundle", "verify", bundle, "--key", other)
    assert code == 7
    assert out.splitlines()[1] == (
        f"{ENVELOPE_FILE}: signature does not verify with {other} (keyid {openssl_keyid(other)}; "
        f"the envelope is signed by keyid {openssl_keyid(pub)})"
    )


def test_unsigned(cli: Run, tmp_path: Path, keydir: Path, rendered: tuple[dict[str, bytes], ProvenanceInputs]) -> None:
    bundle = write_bundle(rendered[0], tmp_path / "plain")
    _, pub = make_key(keydir, "ed25519")
    for extra in ([], ["--key", pub]):
        code, out, _ = cli("bundle", "verify", bundle, *extra)
        assert code == 7
        assert out.splitlines() == [
            f"unsigned: {bundle} (15 files; checksums hold, no signature checked)",
            f"note: no {ENVELOPE_FILE}: the bundle is not signed; only checksums.txt was checked",
        ]
    code, out, _ = cli("bundle", "verify", bundle, "--allow-unsigned")
    assert code == 0 and out.startswith("unsigned: ")
    # --allow-unsigned never lets tampering through.
    flip(bundle / "recipe.yaml")
    code, out, _ = cli("bundle", "verify", bundle, "--allow-unsigned", "-t", "yaml")
    assert code == 7 and "recipe.yaml: sha256 mismatch against checksums.txt" in out


def test_a_stripped_envelope_does_not_verify(cli: Run, signed_bundle: tuple[Path, Path]) -> None:
    bundle, pub = signed_bundle
    (bundle / ENVELOPE_FILE).unlink()
    code, out, _ = cli("bundle", "verify", bundle, "--key", pub)
    assert code == 7 and out.startswith("unsigned: ")


def test_signed_without_key_is_unsigned(cli: Run, signed_bundle: tuple[Path, Path]) -> None:
    bundle, pub = signed_bundle
    code, out, _ = cli("bundle", "verify", bundle)
    assert code == 7 and out.startswith("unsigned: ")
    assert f"note: signature not checked: no public key given (signed by keyid {openssl_keyid(pub)})" in out


def test_errors_that_stop_the_check(cli: Run, signed_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed_bundle
    code, _, err = cli("bundle", "verify", tmp_path / "absent", "--key", pub)
    assert code == 3 and "absent" in err
    code, _, err = cli("bundle", "verify", bundle, "--key", bundle / "recipe.yaml")
    assert code == 2 and "recipe.yaml: not a PEM public key" in err
    code, _, err = cli("bundle", "verify", bundle, "--key", pub, "--allow-unsigned")
    assert code == 2 and "not allowed with argument" in err
    code, _, err = cli("bundle", "verify", bundle, "--key", pub, "--plain-http")
    assert code == 2 and "--plain-http and --insecure are for an oci:// bundle" in err
    code, _, err = cli("bundle", "verify", "oci://127.0.0.1:9/b:1", "--plain-http")  # nothing listens on port 9
    assert code == 6 and "127.0.0.1:9/b:1" in err
    os.chmod(bundle / "deploy.sh", 0)
    if os.geteuid() != 0:  # root reads it anyway
        code, out, _ = cli("bundle", "verify", bundle, "--key", pub)
        assert code == 7 and "deploy.sh: cannot read" in out


def test_bundle_still_requires_a_recipe(cli: Run) -> None:
    code, _, err = cli("bundle", "-o", "x")
    assert code == 2 and "required: -r/--recipe" in err


@pytest.mark.parametrize("kind", KINDS)
def test_bundle_sign_then_verify(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keydir: Path, kind: str
) -> None:
    """The CI flow on the command line: recipe → bundle --sign → bundle verify."""
    monkeypatch.chdir(tmp_path)
    key, pub = make_key(keydir, kind)
    assert (
        cli("recipe", "--service", "eks", "--accelerator", "h100", "--intent", "training", "-o", "recipe.yaml")[0] == 0
    )
    code, _, err = cli("bundle", "-r", "recipe.yaml", "-o", "bundle", "--sign", key)
    assert code == 0, err
    code, out, _ = cli("bundle", "verify", "bundle", "--key", pub)
    assert code == 0 and out.startswith("verified: bundle "), out
    statement = json.loads(base64.b64decode(json.loads((tmp_path / "bundle" / ENVELOPE_FILE).read_bytes())["payload"]))
    assert statement["predicate"]["buildDefinition"]["externalParameters"]["recipe"] == "recipe.yaml"
    # An encrypted key takes its passphrase from the environment.
    enc, enc_pub = make_key(keydir, "ed25519-encrypted")
    code, _, err = cli("bundle", "-r", "recipe.yaml", "-o", "enc", "--sign", enc)
    assert code == 2 and f"{enc}: the private key is encrypted and no passphrase was given" in err
    monkeypatch.setenv("EIDOS_SIGNING_PASSPHRASE", PASSPHRASE)
    assert cli("bundle", "-r", "recipe.yaml", "-o", "enc", "--sign", enc)[0] == 0
    assert cli("bundle", "verify", "enc", "--key", enc_pub)[0] == 0


DOC = Path(__file__).resolve().parents[2] / "docs" / "bundle-signing.md"


def doc_blocks() -> list[list[str]]:
    text = DOC.read_text()
    return [
        [line for line in block.splitlines() if line.strip()] for block in re.findall(r"```bash\n(.*?)```", text, re.S)
    ]


def test_docs_key_commands_are_the_tested_ones() -> None:
    commands = {line for block in doc_blocks() for line in block}
    for kind in KINDS:
        assert COMMANDS[kind].format(key="eidos.key") in commands
    assert PUBLIC.format(key="eidos.key", pub="eidos.pub") in commands
    for kind in KINDS:
        assert COMMANDS[kind].format(key="eidos.key") in bundle_verify.EXAMPLE


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_docs_openssl_only_verification(signed_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed_bundle
    [block] = [b for b in doc_blocks() if any("pae.bin" in line for line in b)]
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(bundle, work / "bundle")
    (work / "eidos.pub").write_bytes(pub.read_bytes())
    skip = "# ECDSA" if "ed25519" in pub.name else "# Ed25519"
    for line in block:
        if skip not in line:
            sh(line, work)
    flip(work / "bundle" / "recipe.yaml")
    with pytest.raises(AssertionError, match="did NOT match"):
        sh(block[-1], work)


@pytest.mark.parametrize("damage", ["changed", "added", "removed"])
def test_a_tampered_bundle_pushed_to_a_registry_is_named_over_oci(
    cli: Run, oci_registry: Registry, signed_bundle: tuple[Path, Path], damage: str
) -> None:
    """Someone re-pushes a signed bundle after changing it (a new, self-consistent artifact: its
    digests hold). ``bundle verify oci://…`` still names what differs from what was signed."""
    bundle, pub = signed_bundle
    files = {
        p.relative_to(bundle).as_posix(): p.read_bytes()
        for p in sorted(bundle.rglob("*"))
        if p.is_file() and p.name != RECORD_FILE
    }
    options = oci.RegistryOptions(plain_http=True)

    def push(repo: str, content: dict[str, bytes]) -> str:
        ref = oci.parse_reference(oci_registry.ref(repo, "v1"))
        return ref.pinned(oci.push_bundle(content, ref, deployer="helm", version="v1", options=options))

    clean = push(f"verify/clean-{pub.stem}", files)
    code, out, _ = cli("bundle", "verify", clean, "--key", pub, "--plain-http")
    assert code == 0 and out.startswith(f"verified: {clean} "), out
    changed = dict(files)
    if damage == "changed":
        changed["gpu-operator/values.yaml"] += b"# after signing\n"
        name = "gpu-operator/values.yaml"
    elif damage == "added":
        changed["extra/job.yaml"] = b"kind: Job\n"
        name = "extra/job.yaml"
    else:
        del changed["deploy.sh"]
        name = "deploy.sh"
    tampered = push(f"verify/{damage}-{pub.stem}", changed)
    code, out, _ = cli("bundle", "verify", tampered, "--key", pub, "--plain-http")
    assert code == 7 and out.startswith(f"tampered: {tampered} "), out
    assert any(line.startswith(f"{name}: ") for line in out.splitlines()[1:]), out
