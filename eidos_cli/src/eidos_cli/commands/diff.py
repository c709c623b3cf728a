"""``eidos-cli diff A B``: what changed from document A to document B.

Two snapshots give their drift (readings added, removed, changed); two recipes what moving from
A to B would change in a cluster (components, versions, Helm values, constraints, order). The
pure comparison is :mod:`eidos_core.diff`; this module reads the two documents, checks they are
of one kind, and writes the result. With ``--fail-on-drift`` a difference exits 7 after the
result is written, like ``validate --fail-on-error``.

Recipes compare their merged Helm values by default (``componentRefs/<name>/values/<path>``,
what ``eidos-cli query --selector componentRefs.<name>.values`` answers), which needs recipe
data: the embedded data, or ``--data DIR|cm://ns/name`` layered over it as ``recipe --data``
does, and ``--old-data``/``--new-data`` for one side each (the same recipe under two data sets
is an upgrade of the data). A values file a recipe names that is not in its side's data is
exit 3 naming the file and the side. The recipe's ``overrides`` are then not listed apart (they
are in the merged values); ``--values=false`` compares the two documents alone, overrides as
``componentRefs/<name>/overrides/<path>``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from eidos_cli.bundle.paths import RECIPE_FILE
from eidos_cli.commands.bundle import add_registry_flags
from eidos_cli.data import recipe_store
from eidos_cli.options import add_bool, add_kubeconfig, output_file
from eidos_core import yaml
from eidos_core.diff import (
    DEFAULT_IGNORES,
    RECIPE,
    Diff,
    diff_recipes,
    diff_snapshots,
    diff_to_document,
    document_subject,
    merged_values,
    render_diff_table,
)
from eidos_core.errors import InvalidRequestError, NotFoundError, ValidationFailedError
from eidos_core.io.documents import FORMATS, Format, read_document, render
from eidos_core.io.local import write_file_atomic, write_stdout
from eidos_core.recipe.model import Recipe, RecipeStore
from eidos_core.recipe.result import recipe_from_document
from eidos_core.snapshot.model import snapshot_from_document

log = logging.getLogger("eidos_cli.diff")

DEFAULT_FORMAT: Format = "table"
OCI = "oci://"

EXAMPLE = f"""examples:
  eidos-cli diff before.yaml after.yaml                      # drift between two snapshots
  eidos-cli diff cm://gpu-operator/eidos-snapshot today.yaml --fail-on-drift
  eidos-cli snapshot | eidos-cli diff baseline.yaml - --ignore 'SystemD/*' --ignore '*Timestamp*'
  eidos-cli recipe --gpu h100 -o old.yaml && eidos-cli recipe --gpu gb200 -o new.yaml
  eidos-cli diff old.yaml new.yaml -t json                   # what the change does to a cluster
  eidos-cli diff oci://registry.example.com/gpu/stack:v1 new-recipe.yaml   # the deployed bundle's recipe
  eidos-cli diff recipe.yaml recipe.yaml --old-data ./data-v1 --new-data ./data-v2   # new recipe data

paths: snapshots Type/subtype/key (K8s/server/version) and metadata/key; recipes
  metadata/…, criteria/<field>, constraints/<name>, componentRefs/<name>[/<field>],
  componentRefs/<name>/values/<dotted.values.path>, deploymentOrder.

values: for recipes each component's merged Helm values are compared (its values file(s) from
  the recipe data, then the recipe's overrides: what 'eidos-cli query --selector
  componentRefs.<name>.values' prints), so a values file whose contents changed shows. The data
  is the embedded data, or --data layered over it for both sides, --old-data/--new-data for
  one side each. Overrides are part of the merged values and not listed apart;
  --values=false compares the two documents only (componentRefs/<name>/overrides/<path>, the
  valuesFile name but not its contents).

outputs:
  table  one aligned row per change (CHANGE PATH OLD NEW, long values cut) and a summary line
  yaml   a kind: Diff document: sources, ignore patterns, summary counts, every change whole
  json   the same document as JSON

ignored by default (--default-ignores=false to compare them): {", ".join(DEFAULT_IGNORES)}

exit codes: 0 compared (differences or not), 7 they differ (with --fail-on-drift),
  2 bad input (different kinds, an empty --ignore pattern or one with an unclosed '['),
  3 input or a recipe's values file not found, 4 forbidden, 6 unavailable"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diff",
        help="compare two snapshots (drift) or two recipes (an upgrade)",
        description=(
            "List what changed from A to B: for two snapshots the readings added, removed and changed; for "
            "two recipeResults the components, versions, merged Helm values, constraints, criteria and "
            "deployment order that differ. A and B must be of the same kind."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name in ("A", "B"):
        p.add_argument(
            name.lower(), metavar=name,
            help=f"the {'old' if name == 'A' else 'new'} document: a file, - for stdin (one of A and B), "
            "cm://namespace/name, http(s):// or oci://REGISTRY/REPOSITORY:TAG|@DIGEST (a bundle's recipe)",
        )  # fmt: skip
    p.add_argument(
        "--ignore", action="append", default=[], metavar="PATTERN",
        help="leave out changes whose path (or a /-ancestor of it) matches this glob, e.g. '*/timestamp', "
        "'metadata.*', 'SystemD/*'; '.' and '/' are interchangeable (repeatable)",
    )  # fmt: skip
    add_bool(p, "--default-ignores", default=True, help=f"also ignore {', '.join(DEFAULT_IGNORES)}")
    add_bool(p, "--fail-on-drift", default=False, help="exit 7 when A and B differ")
    p.add_argument(
        "-o", "--output", default="-", metavar="FILE", help="where to write the result: a file or - for stdout"
    )
    p.add_argument(
        "-t", "--format", choices=FORMATS, default=DEFAULT_FORMAT, help=f"output format (default: {DEFAULT_FORMAT})"
    )
    add_bool(
        p, "--values", default=True,
        help="recipes: compare each component's merged Helm values (values files from the recipe data, "
        "then overrides); false: the recipe documents only, overrides as written",
    )  # fmt: skip
    data = "recipe data for the values, layered over the embedded data as 'recipe --data' does"
    p.add_argument("--data", metavar="DIR|cm://NS/NAME", help=f"{data}: for A and B")
    p.add_argument("--old-data", metavar="DIR|cm://NS/NAME", help=f"{data}: for A (default: --data)")
    p.add_argument("--new-data", metavar="DIR|cm://NS/NAME", help=f"{data}: for B (default: --data)")
    add_kubeconfig(p)
    add_registry_flags(p)
    p.set_defaults(run=run)


def _data_flags(args: argparse.Namespace) -> list[str]:
    given = (("--data", args.data), ("--old-data", args.old_data), ("--new-data", args.new_data))
    return [flag for flag, value in given if value]


def check_data_flags(args: argparse.Namespace) -> None:
    """Data flags that would change nothing are refused rather than ignored."""
    flags = _data_flags(args)
    if flags and not args.values:
        raise InvalidRequestError(
            f"{', '.join(flags)}: recipe data is for comparing values; drop it or --values=false",
            details={"field": flags[0]},
        )


def _bundle_recipe(uri: str, args: argparse.Namespace) -> Any:
    """The recipe a bundle in an OCI registry was made from (its ``recipe.yaml``), pulled and
    verified as ``bundle pull`` does: what is deployed, to compare with a new recipe."""
    from eidos_cli.bundle.oci import RegistryOptions, parse_reference, pull_bundle

    pulled = pull_bundle(parse_reference(uri), RegistryOptions(plain_http=args.plain_http, insecure=args.insecure))
    source = f"{uri} recipe.yaml"
    text = pulled.files.get(RECIPE_FILE)
    if text is None:
        raise InvalidRequestError(f"{uri}: the bundle has no {RECIPE_FILE} to compare")
    return yaml.load(text, source=source, raw=True)


async def _read(uri: str, args: argparse.Namespace) -> Any:
    if uri.startswith(OCI):
        return await asyncio.to_thread(_bundle_recipe, uri, args)  # a blocking HTTP client
    # raw: recipe fields keep their text (version 25.10 stays 25.10), as `validate` reads them.
    return await read_document(uri, kubeconfig=args.kubeconfig, raw=True)


async def _read_both(args: argparse.Namespace) -> tuple[Any, Any]:
    a, b = args.a, args.b
    if a == "-" and b == "-":
        raise InvalidRequestError("A and B cannot both read stdin (-)")
    return await _read(a, args), await _read(b, args)


def document_kind(a_doc: Any, b_doc: Any, *, a: str, b: str) -> str:
    """The one kind both documents are (:data:`RECIPE` or :data:`SNAPSHOT`)."""
    subject_a = document_subject(a_doc, source=a)
    subject_b = document_subject(b_doc, source=b)
    if subject_a != subject_b:
        raise InvalidRequestError(
            f"cannot compare a {subject_a} ({a}) with a {subject_b} ({b}): give two snapshots or two recipes",
            details={"A": subject_a, "B": subject_b},
        )
    return subject_a


async def _values(
    recipe: Recipe, store: RecipeStore, spec: str | None, *, side: str, args: argparse.Namespace
) -> dict[str, Any]:
    try:
        return await asyncio.to_thread(merged_values, recipe, store.files, store.registry)
    except NotFoundError as exc:  # a values file the recipe names: say which side and data
        source = f"recipe data {spec}" if spec else "the embedded recipe data"
        flag = f"--{'old' if side == 'A' else 'new'}-data/--data"
        raise NotFoundError(
            f"{side} ({getattr(args, side.lower())}) with {source}: {exc.message}; give its data with {flag}, "
            "or --values=false to compare the documents only",
            details={**exc.details, "side": side, "data": spec or "embedded"},
        ) from exc


async def compare(args: argparse.Namespace, ignore: list[str]) -> Diff:
    a_doc, b_doc = await _read_both(args)
    if document_kind(a_doc, b_doc, a=args.a, b=args.b) != RECIPE:
        if flags := _data_flags(args):
            raise InvalidRequestError(
                f"{', '.join(flags)}: recipe data applies to two recipes; A and B are snapshots",
                details={"field": flags[0]},
            )
        old, new = snapshot_from_document(a_doc, source=args.a), snapshot_from_document(b_doc, source=args.b)
        return diff_snapshots(old, new, ignore=ignore)
    old_recipe, new_recipe = recipe_from_document(a_doc, source=args.a), recipe_from_document(b_doc, source=args.b)
    values = None
    if args.values:
        old_spec, new_spec = args.old_data or args.data, args.new_data or args.data
        old_store = await recipe_store(old_spec, kubeconfig=args.kubeconfig)
        new_store = old_store if new_spec == old_spec else await recipe_store(new_spec, kubeconfig=args.kubeconfig)
        old_values = await _values(old_recipe, old_store, old_spec, side="A", args=args)
        new_values = await _values(new_recipe, new_store, new_spec, side="B", args=args)
        values = (old_values, new_values)
    return diff_recipes(old_recipe, new_recipe, ignore=ignore, values=values)


def output(diff: Diff, fmt: Format, *, a: str, b: str) -> bytes:
    if fmt == "table":
        return render_diff_table(diff).encode()
    return render(diff_to_document(diff, old_source=a, new_source=b), fmt)


def run(args: argparse.Namespace) -> int:
    fmt: Format = args.format
    if fmt not in FORMATS:  # argparse checks choices; this guards callers that build args by hand
        raise InvalidRequestError(f"unknown output format: {fmt!r}, valid formats are: {', '.join(FORMATS)}")
    target = output_file(args.output, command="diff")
    check_data_flags(args)
    ignore = [*(DEFAULT_IGNORES if args.default_ignores else ()), *args.ignore]
    diff = asyncio.run(compare(args, ignore))
    body = output(diff, fmt, a=args.a, b=args.b)
    if target is None:
        write_stdout(body)
    else:
        write_file_atomic(target, body)
    log.info(
        "diff completed",
        extra={
            "subject": diff.subject,
            "changes": len(diff.changes),
            "ignored": diff.ignored,
            "output": target or "-",
        },
    )
    if diff.drifted and args.fail_on_drift:
        raise ValidationFailedError(
            f"{args.a} and {args.b} differ: {len(diff.changes)} change(s)",
            details={"changes": len(diff.changes)},
        )
    return 0
