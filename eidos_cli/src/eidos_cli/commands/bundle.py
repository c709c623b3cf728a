"""``eidos-cli bundle``: turn a recipe into a Helm bundle (one release per component, installed
in order by ``deploy.sh``) or an Argo CD app-of-apps.

Order of work: recipe data, then the flags (deployer, output, ``--set``,
selectors, tolerations — the first bad one is reported), then the recipe, then rendering in
memory, then writing (see ``eidos_cli.bundle.writer`` for what happens to an existing
output directory). The summary goes to stdout, logs to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from eidos_cli.bundle import DEPLOYERS, HELM, TITLES
from eidos_cli.data import recipe_store
from eidos_cli.options import add_kubeconfig, add_list
from eidos_core import __version__
from eidos_core.errors import InvalidRequestError
from eidos_core.io.documents import read_document
from eidos_core.recipe.model import Recipe, RecipeStore
from eidos_core.recipe.result import recipe_from_document

log = logging.getLogger("eidos_cli.bundle")

EXAMPLE = """examples:
  eidos-cli bundle -r recipe.yaml -o ./bundle
  eidos-cli bundle -r cm://gpu-operator/eidos-recipe -o ./bundle --set gpuoperator:driver.version=580.82.07
  eidos-cli bundle -r recipe.yaml -o ./bundle --disable skyhook-operator,nvsentinel
  eidos-cli bundle -r recipe.yaml -o ./gitops --deployer argocd --repo https://github.com/acme/gpu-stack.git
  eidos-cli bundle -r recipe.yaml -o ./bundle \\
      --system-node-selector nodeGroup=system --accelerated-node-toleration nvidia.com/gpu=present:NoSchedule

output directory:
  A new directory is created complete or not at all. Into an existing directory the bundle
  replaces an earlier bundle's files (and removes the ones it no longer has) and leaves other
  files alone; it refuses to overwrite files of a directory that holds no earlier bundle.
  OCI output (oci://registry/repo:tag) is not supported: write a directory and push it yourself."""


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
        "-o", "--output", default="bundle", metavar="DIR",
        help="directory to write the bundle to; created if missing (default: ./bundle; oci:// is not supported)",
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
    add_kubeconfig(p)
    p.set_defaults(run=run)


def bundle_store(data: str | None, kubeconfig: str | None = None) -> RecipeStore:
    """The recipe data values files and manifests come from: embedded, or ``--data`` layered over it."""
    return asyncio.run(recipe_store(data, kubeconfig=kubeconfig))


def check_output(output: str) -> str:
    """The output directory as given ('' means '.'); OCI references are refused."""
    text = output.strip()
    if text.lower().startswith("oci://"):
        raise InvalidRequestError(
            f"invalid --output value: {output!r}: OCI output is not supported; "
            "write the bundle to a directory and push that (e.g. with oras or helm push)"
        )
    return text or "."


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
    store = bundle_store(args.data, args.kubeconfig)
    deployer = parse_deployer(args.deployer)
    output = check_output(args.output)
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
        extra={"deployer": deployer, "type": TITLES[deployer], "recipe": args.recipe, "output": output},
    )
    recipe = asyncio.run(load_recipe(args.recipe, args.kubeconfig))
    bundle = render_bundle(recipe, store, options)
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
