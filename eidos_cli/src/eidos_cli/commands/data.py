"""``eidos-cli data``: work with recipe data directories.

``validate DIR`` checks a data set the way eidosd would load it and lists every problem with
file and field; ``configmap DIR`` prints the ConfigMap that carries it (``a/b.yaml`` stored
under the key ``a__b.yaml``) for ``RECIPE_CONFIGMAP`` or ``--data cm://…``; ``coverage [DIR]``
prints the Markdown tables of components, overlays and which overlays each criteria combination
gets (:mod:`eidos_core.data.coverage`), the README's "Recipe data" section.
"""

from __future__ import annotations

import argparse
import base64
import sys

from eidos_core import yaml
from eidos_core.data import coverage
from eidos_core.data.files import flatten, read_directory, read_embedded
from eidos_core.data.layered import layer_files
from eidos_core.data.load import load_store
from eidos_core.errors import InvalidRequestError, RecipeDataError
from eidos_core.io.local import read_file, write_file_atomic, write_stdout
from eidos_core.io.uri import parse_uri
from eidos_core.sources.embedded import embedded_store

EXAMPLE = """examples:
  eidos-cli data validate ./recipe-data
  eidos-cli data validate --layered ./site-overlays      # as a --data layer over the embedded data
  eidos-cli data configmap ./recipe-data --name eidos-recipe-data --namespace eidos | kubectl apply -f -
  eidos-cli data coverage ./site-overlays > coverage.md  # which overlays each cluster type gets"""

COVERAGE_EXAMPLE = """examples:
  eidos-cli data coverage                               # the embedded data
  eidos-cli data coverage ./site-overlays               # your overlays layered over it, as --data does
  eidos-cli data coverage --standalone ./recipe-data    # a complete data set, as RECIPE_DATA_PATH serves it
  eidos-cli data coverage --update README.md            # rewrite the README's generated section

The output is Markdown: Components (chart, version, namespace, which overlays bring each in),
Overlays (criteria, parent, what each changes, constraints, the first sentence of its comment)
and Coverage (the overlays the recipe matcher picks for every service x accelerator x intent,
and OS x service)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "data",
        help="validate recipe data, package it as a ConfigMap, or tabulate what it covers",
        description="Check a recipe data directory, print it as a ConfigMap manifest, or print Markdown tables "
        "of its components, overlays and coverage.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    check = actions.add_parser(
        "validate", help="check a data directory and report every problem",
        description="Load and validate a recipe data directory; every problem is listed with file and field.",
        epilog="examples:\n  eidos-cli data validate ./recipe-data\n"
        "  eidos-cli data validate --layered ./site-overlays",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    check.add_argument("directory", metavar="DIR")
    check.add_argument(
        "--layered", action="store_true", help="check DIR as a layer over the embedded data (what --data does)"
    )
    check.set_defaults(run=run_validate)
    pack = actions.add_parser(
        "configmap", help="print a ConfigMap manifest holding a data directory",
        description="Print a ConfigMap manifest for DIR (validated first; subdirectories use the a__b.yaml keys).",
        epilog="example:\n  eidos-cli data configmap ./recipe-data --name eidos-recipe-data --namespace eidos "
        "| kubectl apply -f -",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    pack.add_argument("directory", metavar="DIR")
    pack.add_argument("--name", required=True, help="ConfigMap name")
    pack.add_argument("--namespace", required=True, help="ConfigMap namespace")
    pack.set_defaults(run=run_configmap)
    cover = actions.add_parser(
        "coverage", help="print Markdown tables: components, overlays, which overlays each combination gets",
        description="Print the components, overlays and criteria coverage of the embedded recipe data, or of "
        "DIR layered over it, as Markdown (deterministic: the README's Recipe data section is this output).",
        epilog=COVERAGE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    cover.add_argument(
        "directory", metavar="DIR", nargs="?", help="recipe data layered over the embedded data (default: none)"
    )
    cover.add_argument(
        "--standalone", action="store_true", help="DIR is a complete data set, not a layer over the embedded data"
    )
    cover.add_argument(
        "--update", metavar="FILE",
        help=f"write the tables into FILE between the markers '{coverage.BEGIN}' and '{coverage.END}' "
        "instead of printing them",
    )  # fmt: skip
    cover.set_defaults(run=run_coverage)


def run_validate(args: argparse.Namespace) -> int:
    files = read_directory(args.directory)
    if args.layered:
        files = layer_files(read_embedded(), files, origin=args.directory)
    try:
        store = load_store(files, source=args.directory)
    except RecipeDataError as exc:
        sys.stderr.write(f"{args.directory}: {len(exc.problems)} problem(s):\n")
        sys.stderr.writelines(f"  - {problem}\n" for problem in exc.problems)
        raise
    write_stdout(
        f"{args.directory}: ok ({len(store.overlays)} overlays, {len(store.registry.components)} components, "
        f"version {store.version})\n".encode()
    )
    return 0


def run_configmap(args: argparse.Namespace) -> int:
    from eidos_core.kube.configmaps import check_size

    parse_uri(f"cm://{args.namespace}/{args.name}")  # names Kubernetes would refuse fail here, clearly
    files = read_directory(args.directory)
    load_store(files, source=args.directory)  # never package data eidosd would refuse
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    for path, body in sorted(files.items()):
        try:
            data[flatten(path)] = body.decode()
        except UnicodeDecodeError:  # not text: ConfigMaps carry such files base64 in binaryData
            binary[flatten(path)] = base64.b64encode(body).decode()
    check_size(args.namespace, args.name, {**data, **binary})
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": args.name,
            "namespace": args.namespace,
            "labels": {"app.kubernetes.io/name": "eidos", "app.kubernetes.io/component": "recipe-data"},
        },
        "data": data,
    }
    if binary:
        manifest["binaryData"] = binary
    write_stdout(yaml.dump(manifest).encode())
    return 0


def run_coverage(args: argparse.Namespace) -> int:
    """Print the tables, or with ``--update`` rewrite a document's generated section in place
    (atomically, untouched when already current) so regenerating the README is one command."""
    if args.standalone and not args.directory:
        raise InvalidRequestError("--standalone needs DIR (a complete recipe data directory)")
    if not args.directory:
        store = embedded_store()
    else:
        files = read_directory(args.directory)
        if not args.standalone:
            files = layer_files(read_embedded(), files, origin=args.directory)
        store = load_store(files, source=args.directory)
    text = coverage.markdown(store)
    if args.update is None:
        write_stdout(text.encode())
        return 0
    try:
        document = read_file(args.update).decode()
    except UnicodeDecodeError:
        raise InvalidRequestError(f"{args.update}: not UTF-8 text") from None
    updated = coverage.splice(document, text, where=args.update)
    if updated != document:
        write_file_atomic(args.update, updated.encode())
    sys.stderr.write(f"{args.update}: {'updated' if updated != document else 'already up to date'}\n")
    return 0
