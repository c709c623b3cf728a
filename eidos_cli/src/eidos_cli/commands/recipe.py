"""``eidos-cli recipe``: resolve a recipe from criteria flags, a criteria file or a snapshot.

The flags and how they combine (precedence, the base recipe without criteria, overlays a
snapshot's cluster fails) are :mod:`eidos_cli.resolve`'s, shared with ``query``. ``--data``
layers external recipe data over the embedded data; ``--server`` asks a running eidosd.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from eidos_cli.data import recipe_store
from eidos_cli.options import add_kubeconfig, add_output
from eidos_cli.resolve import add_criteria_flags, resolve_criteria, resolve_locally, warn_server_snapshot
from eidos_core import __version__
from eidos_core.io.documents import write_document
from eidos_core.recipe.result import recipe_to_document

log = logging.getLogger("eidos_cli.recipe")

EXAMPLE = """examples:
  eidos-cli recipe --service eks --accelerator h100 --intent training --os ubuntu
  eidos-cli recipe --snapshot cm://gpu-operator/eidos-snapshot --intent training -o recipe.yaml
  eidos-cli recipe --criteria criteria.yaml --data ./my-recipe-data
  eidos-cli recipe --gpu gb200 --server http://eidosd.eidos.svc:8080
  eidos-cli recipe                      # no criteria: the base recipe every cluster gets"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "recipe",
        help="resolve the recipe for a cluster",
        description="Resolve the components, versions and constraints for a GPU cluster.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_criteria_flags(p, what="the recipe")
    add_output(p, what="the recipe")
    add_kubeconfig(p)
    p.set_defaults(run=run)


async def _run(args: argparse.Namespace) -> int:
    criteria, snapshot = await resolve_criteria(args)
    doc: dict[str, Any]
    if args.server:
        from eidos_cli.remote import fetch_recipe  # aiohttp only when it is used

        warn_server_snapshot(snapshot)
        doc = await fetch_recipe(args.server, criteria)
    else:
        store = await recipe_store(args.data, kubeconfig=args.kubeconfig)
        recipe = resolve_locally(store, criteria, snapshot, accept_excluded=args.accept_excluded_overlays)
        doc = recipe_to_document(recipe, __version__)
    where = await write_document(args.output, doc, component="recipe", fmt=args.format, kubeconfig=args.kubeconfig)
    log.info(
        "recipe generation completed",
        extra={
            "output": str(where),
            "components": len(doc.get("componentRefs") or []),
            "overlays": len((doc.get("metadata") or {}).get("appliedOverlays") or []),
        },
    )
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
