"""``eidos-cli recipe``: resolve a recipe from criteria flags, a criteria file or a snapshot.

Precedence: ``--snapshot`` > ``--criteria`` > flags alone; in the first two modes a non-empty
flag overrides the detected or file value. ``--data`` layers external recipe data over the
embedded data; ``--server`` asks a running eidosd instead of resolving locally.

Snapshot mode leaves out overlays whose own constraints the cluster fails (a warning each).
An *accelerator* overlay left out (GB200's on Kubernetes < 1.32: no DRA driver, no IMEX
ComputeDomains) is an error instead: nothing is written and the command exits 7, naming the
overlay, each failed constraint and both ways out. ``--accept-excluded-overlays`` writes the
recipe anyway; its ``metadata.excludedAcceleratorOverlays`` still names the overlay, and
``validate`` keeps failing its constraints until the cluster meets them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from eidos_cli.data import recipe_store
from eidos_cli.options import add_bool, add_kubeconfig, add_output
from eidos_core import __version__
from eidos_core.errors import InvalidRequestError, ValidationFailedError
from eidos_core.io.documents import read_document, write_document
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import (
    ACCELERATORS,
    ANY,
    INTENTS,
    MAX_NODES,
    OS_TYPES,
    SERVICES,
    Criteria,
    criteria_from_document,
    parse_nodes,
)
from eidos_core.recipe.model import ConstraintWarning, Recipe, RecipeStore
from eidos_core.recipe.result import recipe_to_document
from eidos_core.resolve.snapshot_mode import build_recipe_for_snapshot
from eidos_core.snapshot.criteria import criteria_from_snapshot
from eidos_core.snapshot.model import Snapshot, snapshot_from_document

log = logging.getLogger("eidos_cli.recipe")

EXAMPLE = """examples:
  eidos-cli recipe --service eks --accelerator h100 --intent training --os ubuntu
  eidos-cli recipe --snapshot cm://gpu-operator/eidos-snapshot --intent training -o recipe.yaml
  eidos-cli recipe --criteria criteria.yaml --data ./my-recipe-data
  eidos-cli recipe --gpu gb200 --server http://eidosd.eidos.svc:8080"""

NO_CRITERIA = (
    "no criteria provided: specify at least one of --service, --accelerator, --intent, --os, --nodes, "
    "--criteria, or use --snapshot to load from a snapshot file"
)
FIELDS = ("service", "accelerator", "intent", "os")


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
    p.add_argument(
        "--nodes", metavar="N", help=f"number of GPU nodes, 0 to {MAX_NODES}; only values > 0 count (default: 0)"
    )
    p.add_argument(
        "-s", "--snapshot", metavar="URI", help="derive criteria from a snapshot (file, -, cm://, http(s)://)"
    )
    p.add_argument("-c", "--criteria", metavar="URI", help="read criteria from a recipeCriteria document")
    p.add_argument(
        "--data", metavar="DIR|cm://NS/NAME",
        help="external recipe data layered over the embedded data (must contain registry.yaml)",
    )  # fmt: skip
    p.add_argument("--server", metavar="URL", help="ask a running eidosd at URL instead of resolving locally")
    add_bool(
        p, "--accept-excluded-overlays", default=False,
        help="with --snapshot: write the recipe even when an accelerator overlay (e.g. gb200) is left out "
        "because the cluster fails its constraints; without it that is an error (exit 7) and nothing is "
        "written. The recipe's metadata still lists the dropped overlays (excludedAcceleratorOverlays) "
        "and 'validate' still fails their constraints",
    )  # fmt: skip
    add_output(p, what="the recipe")
    add_kubeconfig(p)
    p.set_defaults(run=run)


def _with_flags(criteria: Criteria, args: argparse.Namespace) -> Criteria:
    """Flag values over detected/file values; a changed detected value is logged."""
    changes: dict[str, Any] = {name: getattr(args, name) for name in FIELDS if getattr(args, name)}
    # The server's rule for nodes (decimal digits, 0..MAX_NODES): --nodes -3 is refused, not ignored.
    nodes = parse_nodes(args.nodes) if args.nodes is not None else 0
    updated = criteria.replace(**changes, nodes=nodes if nodes > 0 else None)
    for name in FIELDS:
        before, after = getattr(criteria, name), getattr(updated, name)
        if before != ANY and before != after:
            log.info("CLI flag overriding detected value", extra={"field": name, "detected": before, "override": after})
    return updated


async def resolve_criteria(args: argparse.Namespace) -> tuple[Criteria, Snapshot | None]:
    """The criteria to resolve, and the snapshot they came from (snapshot mode) if any."""
    if args.snapshot:
        doc = await read_document(args.snapshot, kubeconfig=args.kubeconfig)
        snapshot = snapshot_from_document(doc, source=args.snapshot)
        detected = criteria_from_snapshot(snapshot)
        log.debug("criteria detected from snapshot", extra={"criteria": str(detected)})
        return _with_flags(detected, args), snapshot
    if args.criteria:
        doc = await read_document(args.criteria, kubeconfig=args.kubeconfig)
        return _with_flags(criteria_from_document(doc, source=args.criteria), args), None
    criteria = _with_flags(Criteria(), args)
    if criteria.specificity == 0:
        raise InvalidRequestError(NO_CRITERIA)
    return criteria, None


def _failed_constraint(w: ConstraintWarning) -> str:
    actual = w.actual if w.actual is not None else f"unknown ({w.reason})"
    return f"{w.constraint} expected {w.expected}, actual {actual}"


def excluded_accelerator_error(recipe: Recipe) -> ValidationFailedError:
    """One line naming every dropped accelerator overlay, its failed constraints and the remedies."""
    dropped = recipe.excluded_accelerator_overlays
    parts = [
        f"{name} ({'; '.join(_failed_constraint(w) for w in recipe.constraint_warnings if w.overlay == name)})"
        for name in dropped
    ]
    noun, its = ("overlay", "its") if len(dropped) == 1 else ("overlays", "their")
    return ValidationFailedError(
        f"accelerator {noun} left out because the cluster fails {its} constraints: {', '.join(parts)}; "
        f"the recipe would lack the components and settings these GPUs need, so none was written. "
        f"Either bring the cluster up to these constraints and take a new snapshot, or pass "
        f"--accept-excluded-overlays to write the recipe without the {noun}",
        details={
            "excludedAcceleratorOverlays": list(dropped),
            "constraintWarnings": [
                {"overlay": w.overlay, "constraint": w.constraint, "expected": w.expected, "actual": w.actual}
                for w in recipe.constraint_warnings
                if w.overlay in dropped
            ],
        },
    )


def _resolve_locally(
    store: RecipeStore, criteria: Criteria, snapshot: Snapshot | None, *, accept_excluded: bool = False
) -> dict[str, Any]:
    if snapshot is None:
        return recipe_to_document(build_recipe(store, criteria), __version__)
    # Snapshot mode: overlays whose own constraints the cluster fails are left out.
    recipe = build_recipe_for_snapshot(store, criteria, snapshot)
    for w in recipe.constraint_warnings:
        log.warning(
            "overlay excluded due to constraint failure",
            extra={"overlay": w.overlay, "constraint": w.constraint, "expected": w.expected,
                   "actual": w.actual, "reason": w.reason},
        )  # fmt: skip
    if recipe.excluded_accelerator_overlays:
        # Never silently: a recipe without its accelerator overlay cannot run those GPUs.
        if not accept_excluded:
            raise excluded_accelerator_error(recipe)
        log.warning(
            "writing the recipe without accelerator overlays (--accept-excluded-overlays); "
            "its metadata lists them and validate will fail their constraints",
            extra={"overlays": ",".join(recipe.excluded_accelerator_overlays)},
        )
    return recipe_to_document(recipe, __version__)


async def _run(args: argparse.Namespace) -> int:
    if args.server and args.data:
        raise InvalidRequestError("--server and --data cannot be combined: the server uses its own recipe data")
    criteria, snapshot = await resolve_criteria(args)
    if args.server:
        from eidos_cli.remote import fetch_recipe

        if snapshot is not None:
            log.warning(
                "--server resolves the detected criteria only; overlays whose constraints this snapshot "
                "fails are not excluded (resolve locally for that)"
            )
        doc = await fetch_recipe(args.server, criteria)
    else:
        store = await recipe_store(args.data, kubeconfig=args.kubeconfig)
        doc = _resolve_locally(store, criteria, snapshot, accept_excluded=args.accept_excluded_overlays)
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
