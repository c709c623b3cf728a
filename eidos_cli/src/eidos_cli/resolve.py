"""What ``recipe`` and ``query`` share: the criteria flags, the criteria they give, and the
recipe resolved locally from them (``--server``: by eidosd, see :mod:`eidos_cli.remote`).

Precedence: ``--snapshot`` > ``--criteria`` > flags alone; in the first two modes a non-empty
flag overrides the detected or file value. No criteria at all is the base recipe (every field
``any``), as eidosd answers ``GET /v1/recipe`` without parameters: one rule for both programs.

Snapshot mode leaves out overlays whose own constraints the cluster fails (a warning each).
An *accelerator* overlay left out (GB200's on Kubernetes < 1.32: no DRA driver, no IMEX
ComputeDomains) is an error instead: nothing is written and the command exits 7, naming the
overlay, each failed constraint and both ways out. ``--accept-excluded-overlays`` goes on
anyway; the recipe's ``metadata.excludedAcceleratorOverlays`` still names the overlay, and
``validate`` keeps failing its constraints until the cluster meets them.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from eidos_cli.options import add_bool
from eidos_cli.server_url import server_flag
from eidos_core.errors import CriteriaError, InvalidRequestError, ValidationFailedError
from eidos_core.io.documents import read_document
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
from eidos_core.resolve.snapshot_mode import build_recipe_for_snapshot
from eidos_core.snapshot.criteria import criteria_from_snapshot
from eidos_core.snapshot.model import Snapshot, snapshot_from_document

log = logging.getLogger("eidos_cli.recipe")

FIELDS = ("service", "accelerator", "intent", "os")
NODES_ALLOWED = f"an integer from 0 to {MAX_NODES}, 0 meaning any"


def add_criteria_flags(p: argparse.ArgumentParser, *, what: str = "the recipe") -> None:
    """The criteria, data and server flags, the same for every command that resolves a recipe."""
    p.add_argument("--service", help=f"Kubernetes service: {', '.join(SERVICES)} (default: any)")
    p.add_argument("--accelerator", "--gpu", dest="accelerator", help=f"GPU: {', '.join(ACCELERATORS)} (default: any)")
    p.add_argument("--intent", help=f"workload: {', '.join(INTENTS)} (default: any)")
    p.add_argument("--os", help=f"node OS: {', '.join(OS_TYPES)} (default: any)")
    p.add_argument("--nodes", metavar="N", help=f"number of GPU nodes, 0 to {MAX_NODES} (default: 0 = any)")
    p.add_argument(
        "-s", "--snapshot", metavar="URI", help="derive criteria from a snapshot (file, -, cm://, http(s)://)"
    )
    p.add_argument("-c", "--criteria", metavar="URI", help="read criteria from a recipeCriteria document")
    p.add_argument(
        "--data", metavar="DIR|cm://NS/NAME",
        help="external recipe data layered over the embedded data (must contain registry.yaml)",
    )  # fmt: skip
    p.add_argument(
        "--server", metavar="URL", type=server_flag,
        help="ask a running eidosd at URL (http(s)://host:port; a scheme-less host:port means http) "
        "instead of resolving locally",
    )  # fmt: skip
    add_bool(
        p, "--accept-excluded-overlays", default=False,
        help=f"with --snapshot: go on with {what} even when an accelerator overlay (e.g. gb200) is left out "
        "because the cluster fails its constraints; without it that is an error (exit 7) and nothing is "
        "written. The recipe's metadata still lists the dropped overlays (excludedAcceleratorOverlays) "
        "and 'validate' still fails their constraints",
    )  # fmt: skip


def nodes_flag(raw: str | None) -> int:
    """``--nodes`` by the server's rule (decimal digits, 0..MAX_NODES): ``-3`` is refused, naming
    the flag and the range, not ignored."""
    try:
        return parse_nodes(raw)
    except CriteriaError as exc:
        raise CriteriaError(
            "nodes", exc.value, (), text=f"--nodes {raw}: {exc.message}; allowed: {NODES_ALLOWED}",
            error=str((exc.details or {}).get("error", "")),
        ) from None  # fmt: skip


def with_flags(criteria: Criteria, args: argparse.Namespace) -> Criteria:
    """Flag values over detected/file values; a changed detected value is logged."""
    changes: dict[str, Any] = {name: getattr(args, name) for name in FIELDS if getattr(args, name)}
    nodes = nodes_flag(args.nodes)
    updated = criteria.replace(**changes, nodes=nodes if nodes > 0 else None)
    for name in FIELDS:
        before, after = getattr(criteria, name), getattr(updated, name)
        if before != ANY and before != after:
            log.info("CLI flag overriding detected value", extra={"field": name, "detected": before, "override": after})
    return updated


async def resolve_criteria(args: argparse.Namespace) -> tuple[Criteria, Snapshot | None]:
    """The criteria to resolve, and the snapshot they came from (snapshot mode) if any."""
    if args.server and args.data:
        raise InvalidRequestError("--server and --data cannot be combined: the server uses its own recipe data")
    if args.snapshot:
        doc = await read_document(args.snapshot, kubeconfig=args.kubeconfig)
        snapshot = snapshot_from_document(doc, source=args.snapshot)
        detected = criteria_from_snapshot(snapshot)
        log.debug("criteria detected from snapshot", extra={"criteria": str(detected)})
        return with_flags(detected, args), snapshot
    if args.criteria:
        doc = await read_document(args.criteria, kubeconfig=args.kubeconfig)
        return with_flags(criteria_from_document(doc, source=args.criteria), args), None
    criteria = with_flags(Criteria(), args)
    if criteria.specificity == 0:
        # eidosd's rule for GET /v1/recipe without parameters: the base recipe every cluster gets.
        log.info("no criteria given: resolving the base recipe (every criterion any)")
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


def resolve_locally(
    store: RecipeStore, criteria: Criteria, snapshot: Snapshot | None, *, accept_excluded: bool = False
) -> Recipe:
    """The recipe for ``criteria`` from ``store``; in snapshot mode without the overlays the cluster fails."""
    if snapshot is None:
        return build_recipe(store, criteria)
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
    return recipe


def warn_server_snapshot(snapshot: Snapshot | None) -> None:
    if snapshot is not None:
        log.warning(
            "--server resolves the detected criteria only; overlays whose constraints this snapshot "
            "fails are not excluded (resolve locally for that)"
        )
