"""``eidos-cli bundle verify DIR|oci://… [--key PUB]``: is this bundle what its signer wrote?

The checks and the trust levels are :mod:`eidos_cli.bundle.signing`'s; this module parses the
flags, prints the report and returns its exit code. :func:`attach` adds ``verify`` as an action
under ``bundle`` beside ``check`` without changing what ``eidos-cli bundle -r …`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from eidos_cli.commands.bundle import add_registry_flags
from eidos_cli.commands.bundle_actions import bundle_actions
from eidos_cli.parser import Parser
from eidos_core import yaml
from eidos_core.errors import InvalidRequestError

if TYPE_CHECKING:
    from eidos_cli.bundle.signing import VerifyReport

FORMATS = ("table", "json", "yaml")

EXAMPLE = """examples:
  eidos-cli bundle -r recipe.yaml -o ./bundle --sign eidos.key
  eidos-cli bundle verify ./bundle --key eidos.pub
  eidos-cli bundle verify ./bundle --key eidos.pub -t json
  eidos-cli bundle verify ./bundle --allow-unsigned       # checksums only
  eidos-cli bundle verify oci://registry.example.com/gpu/stack@sha256:<digest> --key eidos.pub

what is checked:
  every line of checksums.txt against its file; no listed file missing; no file present that
  checksums.txt does not list (besides provenance.intoto.jsonl, and .eidos-bundle, the record
  eidos-cli keeps of what it wrote); no symlinks or special files; and, when the bundle has
  provenance.intoto.jsonl (a DSSE envelope of an in-toto Statement with SLSA provenance), that
  the Statement's subjects are exactly the bundle's files with their sha256, and that the
  envelope carries a signature that verifies with --key.

trust level (first line of the output) and exit status:
  verified   everything holds and the signature verifies with --key            exit 0
  unsigned   nothing is wrong, but no signature was checked: the bundle has no
             provenance.intoto.jsonl, or no --key was given                    exit 7
             (exit 0 with --allow-unsigned, which cannot be combined with --key)
  tampered   a file changed, added or missing, or the signature does not
             verify with --key: one line per problem, naming the file          exit 7
  2 cannot run: no such directory, an unreadable or unsupported key (ECDSA P-256 or Ed25519).

keys (PEM), made with openssl:
  openssl genpkey -algorithm ed25519 -out eidos.key
  openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out eidos.key
  openssl pkey -in eidos.key -pubout -out eidos.pub
the keyid printed is the sha256 of the public key's DER form:
  openssl pkey -pubin -in eidos.pub -outform DER | sha256sum"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="verify a bundle's checksums and its signed provenance",
        description="Check every file of a bundle against checksums.txt and the signed in-toto provenance "
        "(provenance.intoto.jsonl), and the signature with a public key; print the trust level: "
        "verified, unsigned or tampered.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dir", metavar="DIR|oci://…",
        help="the bundle: a directory, or an OCI reference (oci://REGISTRY/REPOSITORY@sha256:… or :TAG) whose "
        "manifest and layer digests are checked before its files are",
    )  # fmt: skip
    trust = p.add_mutually_exclusive_group()
    trust.add_argument(
        "--key", metavar="PUB",  # no -k: under `bundle` that is --kubeconfig
        help="PEM public key (ECDSA P-256 or Ed25519) the bundle must be signed with",
    )  # fmt: skip
    trust.add_argument(
        "--allow-unsigned", action="store_true",
        help="exit 0 for an unsigned bundle whose checksums hold (integrity against accidents, not attacks)",
    )  # fmt: skip
    p.add_argument("-t", "--format", choices=FORMATS, default="table", help="output format (default: table)")
    add_registry_flags(p.add_argument_group("OCI input (oci://…)"))
    p.set_defaults(run=run)


def attach(bundle_parser: Parser) -> None:
    """Add ``verify`` under ``bundle``, beside its other actions."""
    if "verify" not in bundle_parser.subcommands:
        register(bundle_actions(bundle_parser))


def render(report: VerifyReport, fmt: str, where: str) -> str:
    """The report as a table (trust line, then one line per problem, then notes), JSON or YAML."""
    if fmt in ("json", "yaml"):
        document = {"bundle": where, **report.to_dict()}
        return json.dumps(document, indent=2) + "\n" if fmt == "json" else yaml.dump(document)
    files = f"{report.files} file{'s' if report.files != 1 else ''}"
    if report.trust == "verified":
        head = f"verified: {where} ({files}; signature of keyid {report.keyid})"
    elif report.problems:
        count = len(report.problems)
        head = f"{report.trust}: {where} ({files}; {count} problem{'s' if count != 1 else ''})"
    else:
        head = f"{report.trust}: {where} ({files}; checksums hold, no signature checked)"
    return "\n".join([head, *report.problems, *(f"note: {n}" for n in report.notes)]) + "\n"


def run(args: argparse.Namespace) -> int:
    from eidos_cli.bundle.signing import read_public_key, verify_directory, verify_files

    where: str = args.dir
    key = read_public_key(args.key) if args.key else None  # a bad key fails before any download
    if where.lower().startswith("oci://"):
        from eidos_cli.bundle.oci import RegistryOptions, fetch_bundle, parse_reference

        ref = parse_reference(where)
        # Manifest and layer digests are checked by the fetch; each file is then checked here,
        # so a tampered file is named instead of failing the pull as a whole.
        pulled = fetch_bundle(ref, RegistryOptions(plain_http=args.plain_http, insecure=args.insecure))
        where = ref.pinned(pulled.digest)
        report = verify_files(pulled.files, key)
    else:
        if args.plain_http or args.insecure:
            raise InvalidRequestError("--plain-http and --insecure are for an oci:// bundle")
        report = verify_directory(where, key)
    sys.stdout.write(render(report, args.format, where))
    sys.stdout.flush()
    return report.exit_code(allow_unsigned=args.allow_unsigned)
