"""``eidos-cli bundle pull oci://REGISTRY/REPOSITORY@sha256:… DIR``: read a pushed bundle back.

:func:`attach` adds ``pull`` beside ``bundle check`` under ``bundle``. What is verified and
how the directory is written: ``eidos_cli.bundle.oci``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eidos_cli.commands.bundle_actions import bundle_actions
from eidos_cli.parser import Parser

EXAMPLE = """examples:
  eidos-cli bundle pull oci://registry.example.com/gpu/stack@sha256:<digest> ./bundle
  eidos-cli bundle pull oci://127.0.0.1:5000/gpu/stack:v1 ./bundle --plain-http --force

The reference is pinned by digest (@sha256:…, what 'eidos-cli bundle -o oci://…' prints) or
names a tag. Verified before anything is written: the manifest against the digest (or the
digest the registry gives for the tag), the layer against its digest, and every file against
checksums.txt (no file missing, none unlisted). DIR must be missing or empty, or --force
replaces it; the bundle is written beside it and renamed into place. stdout: the pulled
reference pinned by digest.

credentials: EIDOS_REGISTRY_USERNAME and EIDOS_REGISTRY_PASSWORD, else the Docker config
($DOCKER_CONFIG/config.json or ~/.docker/config.json), else anonymous.

exit status: 0 pulled; 2 bad reference, not an Eidos bundle, DIR not empty; 3 no such tag or
manifest; 4 credentials refused; 5 no answer in time; 6 registry unreachable, TLS failure;
7 content that does not match its digest or checksums.txt."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eidos_cli.commands.bundle import add_registry_flags

    p = sub.add_parser(
        "pull",
        help="read a bundle pushed with -o oci://… back into a directory, digests verified",
        description="Download a bundle from an OCI registry, verify the manifest and layer digests and the "
        "bundle's checksums.txt, and write it to DIR.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("reference", metavar="oci://REGISTRY/REPOSITORY@sha256:DIGEST|:TAG", help="the bundle to pull")
    p.add_argument("dir", metavar="DIR", help="directory to write the bundle to (missing or empty)")
    p.add_argument("--force", action="store_true", help="replace DIR even if it is not empty")
    add_registry_flags(p)
    p.set_defaults(run=run)


def attach(bundle_parser: Parser) -> None:
    """Add ``pull`` under ``bundle``, beside its other actions."""
    if "pull" not in bundle_parser.subcommands:
        register(bundle_actions(bundle_parser))


def run(args: argparse.Namespace) -> int:
    from eidos_cli.bundle.oci import RegistryOptions, check_target, parse_reference, pull_bundle, write_pulled

    ref = parse_reference(args.reference)
    target = Path(args.dir)
    check_target(target, args.force)  # before the download: a refusal costs nothing
    pulled = pull_bundle(ref, RegistryOptions(plain_http=args.plain_http, insecure=args.insecure))
    write_pulled(pulled.files, target, force=args.force)
    sys.stdout.write(ref.pinned(pulled.digest) + "\n")
    sys.stdout.flush()
    return 0
