"""``eidos-cli query``: one value of the resolved recipe, by a dot path.

The recipe is resolved exactly as ``eidos-cli recipe`` resolves it (the same flags and code,
:mod:`eidos_cli.resolve`), or by eidosd's ``GET /v1/query`` with ``--server``; the selector
addresses the hydrated recipe (components and constraints by name, values merged as the bundle
merges them: :mod:`eidos_core.recipe.query`). Output is for shell scripts first: a scalar is
printed bare (a string without quotes, numbers, booleans and null as YAML writes them), so
``v=$(eidos-cli query …)`` holds exactly the value; a mapping or list is YAML, or JSON with
``-t json`` (which prints scalars as JSON too: strings quoted). Exit 3 when nothing is at the
path (the message names the longest path that exists), 2 for a malformed selector.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from eidos_cli.data import recipe_store
from eidos_cli.options import add_kubeconfig, add_output, output_file
from eidos_cli.resolve import add_criteria_flags, resolve_criteria, resolve_locally, warn_server_snapshot
from eidos_core import yaml
from eidos_core.io.local import write_file_atomic, write_stdout
from eidos_core.recipe.query import parse_selector, query_recipe

log = logging.getLogger("eidos_cli.query")

FORMATS = ("yaml", "json")
EXAMPLE = """examples:
  eidos-cli query --selector componentRefs.gpu-operator.version --service eks --gpu h100
  eidos-cli query --selector componentRefs.gpu-operator.values.driver --gpu gb200 -t json
  eidos-cli query --selector constraints.K8s.server.version --snapshot snapshot.yaml
  eidos-cli query --selector deploymentOrder --criteria criteria.yaml --server http://eidosd.eidos.svc:8080
  version=$(eidos-cli query --selector componentRefs.gpu-operator.version --gpu h100)

selectors: componentRefs.<component>[.version|.values.<key>…], constraints.<name>, deploymentOrder[.<index>],
criteria.<field>, metadata.… — a key with dots in it (K8s.server.version) is matched whole.
exit codes: 0 the value, 2 a malformed selector or bad criteria, 3 nothing at that path."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "query",
        help="print one value of the resolved recipe",
        description="Resolve the recipe (as 'recipe' does) and print the value at a dot path: a scalar "
        "bare, for shell scripts; a mapping or list as YAML or JSON.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--selector", required=True, metavar="PATH",
        help="dot path into the hydrated recipe, e.g. componentRefs.gpu-operator.version",
    )  # fmt: skip
    add_criteria_flags(p, what="the query")
    add_output(
        p, formats=FORMATS, what="the value", configmap=False,
        format_help="yaml (default): scalars bare, structures as YAML; json: the value as JSON",
    )  # fmt: skip
    add_kubeconfig(p)
    p.set_defaults(run=run)


def render_value(value: Any, fmt: str) -> bytes:
    """The value as printed: JSON for ``json``; else a string as is, another scalar as YAML
    writes it (``true``, ``3``, ``1.5``, ``null``), a mapping or list as a YAML document."""
    if fmt == "json":
        return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()
    if isinstance(value, str):
        return (value + "\n").encode()
    text = yaml.dump(value)
    if not isinstance(value, (Mapping, list)):
        text = text.split("\n", 1)[0] + "\n"  # the scalar, without YAML's "..." end-of-document line
    return text.encode()


async def _run(args: argparse.Namespace) -> int:
    parse_selector(args.selector)  # a malformed selector is exit 2 before any resolving
    target = output_file(args.output, command="query")
    criteria, snapshot = await resolve_criteria(args)
    if args.server:
        from eidos_cli.remote import fetch_query  # aiohttp only when it is used

        warn_server_snapshot(snapshot)
        value = await fetch_query(args.server, criteria, args.selector)
    else:
        store = await recipe_store(args.data, kubeconfig=args.kubeconfig)
        recipe = resolve_locally(store, criteria, snapshot, accept_excluded=args.accept_excluded_overlays)
        value = await asyncio.to_thread(query_recipe, recipe, store.files, args.selector, store.registry)
    body = render_value(value, args.format)
    if target is None:
        await asyncio.to_thread(write_stdout, body)
    else:
        await asyncio.to_thread(write_file_atomic, target, body)
    log.debug("query answered", extra={"selector": args.selector, "criteria": str(criteria)})
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
