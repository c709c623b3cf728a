"""Which overlays apply to a query, and in which order.

An overlay field that is ``any`` matches every query; a specific field matches only the same
specific query value (a generic query never selects a specific overlay). Overlays apply in
ascending specificity, ties broken by name, so more specific ones win.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import product

from eidos_core.recipe.criteria import ANY, Criteria

CriteriaKey = tuple[str, str, str, str, int]


def overlay_matches(overlay: Criteria, query: Criteria) -> bool:
    """The match rule for one overlay; :func:`candidate_keys` is its indexed equivalent."""
    for want, have in (
        (overlay.service, query.service),
        (overlay.accelerator, query.accelerator),
        (overlay.intent, query.intent),
        (overlay.os, query.os),
    ):
        if want != ANY and want != have:
            return False
    return overlay.nodes == 0 or overlay.nodes == query.nodes


def candidate_keys(query: Criteria) -> Iterable[CriteriaKey]:
    """Every overlay criteria key that matches ``query`` (each field: its value or ``any``)."""
    return product(
        {query.service, ANY},
        {query.accelerator, ANY},
        {query.intent, ANY},
        {query.os, ANY},
        {query.nodes, 0},
    )


def sort_key(criteria: Criteria, name: str) -> tuple[int, str]:
    return (criteria.specificity, name)


def select_overlays(
    query: Criteria,
    index: Mapping[CriteriaKey, tuple[str, ...]],
    rank: Mapping[str, int],
) -> list[str]:
    """Names of the overlays matching ``query``, least specific first."""
    found: list[str] = []
    for key in candidate_keys(query):
        found.extend(index.get(key, ()))
    found.sort(key=rank.__getitem__)
    return found
