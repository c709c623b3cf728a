"""``eidos-cli recipe``: resolve a recipe from criteria flags, a criteria file or a snapshot."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eidos_core import __version__, yaml
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, INTENTS, OS_TYPES, SERVICES, Criteria, criteria_from_document
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.result import recipe_to_document
from eidos_core.snapshot.criteria import criteria_from_snapshot
from eidos_core.snapshot.model import snapshot_from_document
from eidos_core.sources.directory import load_directory
from eidos_core.sources.embedded import embedded_store

EXAMPLE = "example:\n  eidos-cli recipe --service eks --accelerator h100 --intent training --os ubuntu"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "recipe",
        help="resolve the recipe for a cluster",
        description="Resolve the components, versions and constraints for a GPU cluster.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--service", help=f"Kubernetes service: {', '.join(SERVICES)} (default: any)")
    p.add_argument("--accelerator", "--gpu", dest="accelerator", help=f"GPU: {', '.join(ACCELERATORS)} (default: any)")
    p.add_argument("--intent", help=f"workload: {', '.join(INTENTS)} (default: any)")
    p.add_argument("--os", help=f"node OS: {', '.join(OS_TYPES)} (default: any)")
    p.add_argument("--nodes", help="number of GPU nodes (default: 0 = any)")
    p.add_argument("--criteria", metavar="FILE", help="read criteria from a recipeCriteria file")
    p.add_argument("--snapshot", metavar="FILE", help="derive criteria from a snapshot file")
    p.add_argument("--data", metavar="DIR", help="use a complete recipe data directory instead of the embedded data")
    p.add_argument("--format", choices=("yaml", "json"), default="yaml", help="output format (default: yaml)")
    p.set_defaults(run=run)


def _read(path: str) -> object:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidRequestError(f"{path}: {exc.strerror}") from None
    return yaml.load(data, source=path)  # JSON is YAML 1.2


def run(args: argparse.Namespace) -> int:
    criteria = Criteria()
    if args.snapshot:
        criteria = criteria_from_snapshot(snapshot_from_document(_read(args.snapshot), source=args.snapshot))
    elif args.criteria:
        criteria = criteria_from_document(_read(args.criteria), source=args.criteria)
    criteria = criteria.replace(
        service=args.service, accelerator=args.accelerator, intent=args.intent, os=args.os, nodes=args.nodes
    )
    store: RecipeStore = load_directory(args.data) if args.data else embedded_store()
    doc = recipe_to_document(build_recipe(store, criteria), __version__)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.dump(doc))
    return 0
