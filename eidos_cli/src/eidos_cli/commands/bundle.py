"""``eidos-cli bundle``: turn a recipe into a Helm bundle (one release per component, installed
in order by ``deploy.sh``) or an Argo CD app-of-apps.

Order of work: recipe data, then the flags (deployer, output and the OCI flags, ``--set``,
selectors, tolerations — the first bad one is reported), then the recipe, then rendering in
memory, then writing (see ``eidos_cli.bundle.writer`` for what happens to an existing
output directory) or, for ``-o oci://…``, pushing (``eidos_cli.bundle.oci``). The summary (or
the pushed references) goes to stdout, logs to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from eidos_cli.bundle import DEPLOYERS, HELM, TITLES
from eidos_cli.data import recipe_store
from eidos_cli.options import add_kubeconfig, add_list
from eidos_cli.parser import ArgumentContainer
from eidos_core import __version__
from eidos_core.errors import InvalidRequestError
from eidos_core.io.documents import read_document
from eidos_core.io.local import write_file_atomic
from eidos_core.recipe.model import Recipe, RecipeStore
from eidos_core.recipe.result import recipe_from_document

if TYPE_CHECKING:
    from eidos_cli.bundle.bundler import Bundle
    from eidos_cli.bundle.oci import Reference

log = logging.getLogger("eidos_cli.bundle")

EXAMPLE = """examples:
  eidos-cli bundle -r recipe.yaml -o ./bundle
  eidos-cli bundle -r cm://gpu-operator/eidos-recipe -o ./bundle --set gpuoperator:driver.version=580.82.07
  eidos-cli bundle -r recipe.yaml -o ./bundle --disable skyhook-operator,nvsentinel
  eidos-cli bundle -r recipe.yaml -o ./gitops --deployer argocd --repo https://github.com/acme/gpu-stack.git
  eidos-cli bundle -r recipe.yaml -o ./bundle \\
      --system-node-selector nodeGroup=system --accelerated-node-toleration nvidia.com/gpu=present:NoSchedule
  eidos-cli bundle -r recipe.yaml -o oci://registry.example.com/gpu/stack:v1
  eidos-cli bundle -r recipe.yaml -o oci://127.0.0.1:5000/gpu/stack:v1 --plain-http --push-charts --charts ./charts
  eidos-cli bundle pull oci://registry.example.com/gpu/stack@sha256:<digest> ./bundle

output directory:
  A new directory is created complete or not at all. Into an existing directory the bundle
  replaces an earlier bundle's files (and removes the ones it no longer has) and leaves other
  files alone; it refuses to overwrite files of a directory that holds no earlier bundle.

OCI output (-o oci://registry/repository[:tag], tag default: the eidos-cli version):
  The bundle is pushed as one OCI artifact (artifactType application/vnd.nvidia.eidos.artifact,
  one tar+gzip layer of its files) and nothing is written locally. stdout: the pushed
  reference, oci://registry/repository@sha256:<digest>, for 'eidos-cli bundle pull'. The same
  bundle files give the same digest. --push-charts also pushes each component's chart package
  (from --charts, the chart's own repository or the Helm cache) as a Helm chart to
  oci://registry/repository/charts/<chart>:<version>, one more stdout line each, so that
  'helm install NAME oci://…/charts/<chart> --version <version> -f <component>/values.yaml' works.
  Credentials: EIDOS_REGISTRY_USERNAME and EIDOS_REGISTRY_PASSWORD, else the Docker config
  ($DOCKER_CONFIG/config.json or ~/.docker/config.json), else anonymous.
  Exit status: 4 credentials refused, 6 registry unreachable or TLS failure, 5 no answer in time."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bundle",
        help="turn a recipe into a Helm chart or Argo CD applications",
        description="Render a recipe into a deployable bundle: one Helm release per component installed in "
        "order by a generated deploy.sh (default), or an Argo CD app-of-apps; with every component's values, "
        "its manifests, install-plan.yaml and checksums.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-r", "--recipe", required=True, metavar="URI",
        help="the recipe: a file, - for stdin, http(s)://, or cm://namespace/name",
    )  # fmt: skip
    p.add_argument(
        "-o", "--output", default="bundle", metavar="DIR|oci://REGISTRY/REPOSITORY[:TAG]",
        help="directory to write the bundle to, created if missing (default: ./bundle); or an OCI "
        "repository to push it to",
    )  # fmt: skip
    p.add_argument(
        "-d", "--deployer", default=HELM, metavar="|".join(reversed(DEPLOYERS)),
        help="helm: releases installed in order by deploy.sh; argocd: an app-of-apps (default: helm)",
    )  # fmt: skip
    p.add_argument("--repo", default="", metavar="URL", help="Git URL the Argo CD applications read values from")
    add_list(
        p, "--set", metavar="COMPONENT:PATH=VALUE",
        help="override a value, e.g. gpuoperator:driver.version=580.82.07; true/false/null and numbers are typed",
    )  # fmt: skip
    add_list(
        p, "--disable", metavar="COMPONENT",
        help="leave a component out of the bundle: its chart, its manifests and values of others that point at it "
        "(same as --set COMPONENT:enabled=false)",
    )  # fmt: skip
    add_list(p, "--system-node-selector", metavar="KEY=VALUE", help="node selector for system components")
    add_list(
        p, "--system-node-toleration", metavar="KEY=VALUE:EFFECT",
        help="toleration for system components, KEY:EFFECT, or : for every taint (default: each chart's own)",
    )  # fmt: skip
    add_list(p, "--accelerated-node-selector", metavar="KEY=VALUE", help="node selector for GPU node components")
    add_list(
        p, "--accelerated-node-toleration", metavar="KEY=VALUE:EFFECT",
        help="toleration for GPU node components, KEY:EFFECT, or : for every taint "
        "(default: nvidia.com/gpu:NoSchedule, the GPU taint)",
    )  # fmt: skip
    p.add_argument(
        "--data", metavar="DIR|cm://NS/NAME",
        help="recipe data layered over the embedded data, for the values files and manifests the recipe names",
    )  # fmt: skip
    p.add_argument(
        "--sign", metavar="KEY",
        help="sign the bundle: provenance.intoto.jsonl, an in-toto statement (SLSA provenance) of every file in a "
        "DSSE envelope signed with KEY (PEM, Ed25519 or ECDSA P-256; passphrase from $EIDOS_SIGNING_PASSPHRASE); "
        "check it with 'eidos-cli bundle verify DIR|oci://… --key PUB'",
    )  # fmt: skip
    add_kubeconfig(p)
    oci = p.add_argument_group("OCI output (-o oci://…)")
    add_registry_flags(oci)
    oci.add_argument(
        "--image-refs", metavar="FILE",
        help="after the push, write the bundle's digest (sha256:…, a line) to FILE, mode 0600, for a CI step "
        "to read",
    )  # fmt: skip
    oci.add_argument(
        "--push-charts", action="store_true",
        help="also push each component's chart package to oci://REGISTRY/REPOSITORY/charts/CHART:VERSION",
    )  # fmt: skip
    oci.add_argument(
        "--charts", metavar="DIR|URL",
        help="with --push-charts: chart packages, a folder of .tgz files or a chart repository URL "
        "(default: each chart's own repository, then the Helm cache)",
    )  # fmt: skip
    p.set_defaults(run=run)


def add_registry_flags(p: ArgumentContainer) -> None:
    """``--plain-http`` and ``--insecure``: how to reach a registry (bundle and bundle pull)."""
    p.add_argument("--plain-http", action="store_true", help="registry: use HTTP instead of HTTPS")
    p.add_argument(
        "--insecure", "--insecure-tls", action="store_true",
        help="registry: HTTPS without certificate verification (self-signed certificates)",
    )  # fmt: skip


def bundle_store(data: str | None, kubeconfig: str | None = None) -> RecipeStore:
    """The recipe data values files and manifests come from: embedded, or ``--data`` layered over it."""
    return asyncio.run(recipe_store(data, kubeconfig=kubeconfig))


def check_output(output: str) -> str:
    """The output directory as given ('' means '.'), or an ``oci://`` reference as given."""
    text = output.strip()
    if text.lower().startswith("oci://"):
        oci_output(text)
    return text or "."


def oci_output(output: str) -> Reference | None:
    """The registry reference of ``-o oci://…`` (tag default: the eidos-cli version), else None."""
    from eidos_cli.bundle.oci import parse_reference, tag_for

    if not output.strip().lower().startswith("oci://"):
        return None
    try:
        ref = parse_reference(output, default_tag=tag_for(__version__))
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"invalid --output value: {exc.message}") from None
    if ref.digest:
        raise InvalidRequestError(f"invalid --output value: {output!r}: push to a tag, not a digest")
    return ref


def check_oci_flags(args: argparse.Namespace, ref: Reference | None) -> None:
    if ref is not None:
        if args.charts and not args.push_charts:
            raise InvalidRequestError("--charts is for --push-charts")
        if args.image_refs:  # found out before the push, not after it
            folder = os.path.dirname(args.image_refs) or "."
            if not os.path.isdir(folder) or os.path.isdir(args.image_refs):
                raise InvalidRequestError(f"--image-refs {args.image_refs}: not a file in an existing directory")
        return
    for flag, value in (
        ("--plain-http", args.plain_http),
        ("--insecure", args.insecure),
        ("--push-charts", args.push_charts),
        ("--charts", args.charts),
        ("--image-refs", args.image_refs),
    ):
        if value:
            raise InvalidRequestError(f"{flag} is for OCI output (-o oci://registry/repository[:tag])")


async def load_recipe(uri: str, kubeconfig: str | None) -> Recipe:
    doc = await read_document(uri, kubeconfig=kubeconfig, raw=True)  # versions as written: 25.10 stays 25.10
    return recipe_from_document(doc, source=uri)


def run(args: argparse.Namespace) -> int:
    # Imported here so that starting eidos-cli for another command does not pay for the bundler.
    from eidos_cli.bundle.bundler import BundleOptions, parse_deployer, render_bundle, summary
    from eidos_cli.bundle.overrides import parse_set
    from eidos_cli.bundle.scheduling import scheduling_from_flags
    from eidos_cli.bundle.writer import write_bundle

    started = time.monotonic()
    signing_key = None
    if args.sign:  # read first: a bad key fails before anything is rendered
        from eidos_cli.bundle.signing import PASSPHRASE_ENV, read_signing_key

        passphrase = os.environ.get(PASSPHRASE_ENV, "")
        signing_key = read_signing_key(args.sign, passphrase=passphrase.encode() or None)
    store = bundle_store(args.data, args.kubeconfig)
    deployer = parse_deployer(args.deployer)
    output = check_output(args.output)
    ref = oci_output(output)
    check_oci_flags(args, ref)
    options = BundleOptions(
        deployer=deployer,
        repo=args.repo.strip(),
        overrides=parse_set(args.set),
        disabled=tuple(args.disable),
        scheduling=scheduling_from_flags(
            system_selectors=args.system_node_selector,
            system_tolerations=args.system_node_toleration,
            accelerated_selectors=args.accelerated_node_selector,
            accelerated_tolerations=args.accelerated_node_toleration,
        ),
        bundler_version=__version__,
    )
    log.info(
        "generating bundle",
        extra={
            "deployer": deployer,
            "type": TITLES[deployer],
            "recipe": args.recipe,
            "output": output,
            "oci": ref is not None,
        },
    )
    recipe = asyncio.run(load_recipe(args.recipe, args.kubeconfig))
    bundle = render_bundle(recipe, store, options)
    if signing_key is not None:  # after checksums.txt, before writing or pushing (it travels in the layer)
        from eidos_cli.bundle.provenance import ProvenanceInputs
        from eidos_cli.bundle.signing import sign_files

        inputs = ProvenanceInputs.of(recipe, store, options, recipe_uri=args.recipe)
        bundle = replace(bundle, files=sign_files(bundle.files, signing_key, inputs))
    if ref is not None:
        return push(args, bundle, ref)
    write_bundle(bundle.files, output)
    log.info(
        "bundle generated",
        extra={
            "type": bundle.title,
            "files": len(bundle.files),
            "size_bytes": bundle.size,
            "duration_sec": round(time.monotonic() - started, 3),
            "output_dir": output,
        },
    )
    sys.stdout.write(summary(bundle, output))
    sys.stdout.flush()
    return 0


def push(args: argparse.Namespace, bundle: Bundle, ref: Reference) -> int:
    """``-o oci://…``: push the bundle (and with --push-charts its charts); print the references."""
    from eidos_cli.bundle.oci import RegistryOptions, push_bundle, push_charts

    options = RegistryOptions(plain_http=args.plain_http, insecure=args.insecure)
    lines = []
    if args.push_charts:  # first: a bundle whose charts cannot be had is not pushed either
        steps = bundle.plan.steps if bundle.plan is not None else ()
        charts = [s.chart for s in steps if s.enabled and s.chart is not None]
        lines += [str(c) for c in push_charts(charts, ref, source=args.charts, options=options)]
    digest = push_bundle(bundle.files, ref, deployer=bundle.deployer, version=__version__, options=options)
    if args.image_refs:  # the digest alone, as the reference writes it
        write_file_atomic(args.image_refs, f"{digest}\n".encode(), mode=0o600)
    sys.stdout.write("\n".join([ref.pinned(digest), *lines]) + "\n")
    sys.stdout.flush()
    return 0
