"""Benchmark: cold recipe resolution (no response cache) and store validation.

    .venv/bin/python -m bench.resolve

Reports: every enum combination on the embedded data (total and per query), per-query
resolve time as the overlay count grows 10 → 1,000, and the time to validate a
1,000-overlay store. Numbers are medians of several rounds; this machine is noisy.
"""

from __future__ import annotations

import functools
import json
import statistics
import time
from collections.abc import Callable
from itertools import product

from eidos_core import yaml
from eidos_core.data.files import read_embedded
from eidos_core.data.load import load_store
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, ANY, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.result import recipe_to_document, to_json

ALL = [
    Criteria(s, a, i, o)
    for s, a, i, o in product((*SERVICES, ANY), (*ACCELERATORS, ANY), (*INTENTS, ANY), (*OS_TYPES, ANY))
]


def resolve_all(store: RecipeStore, queries: list[Criteria]) -> float:
    start = time.perf_counter()
    for q in queries:
        to_json(recipe_to_document(build_recipe(store, q), "bench"))
    return time.perf_counter() - start


def synthetic_files(count: int) -> dict[str, bytes]:
    """The embedded data plus ``count`` generated overlays spread over the criteria space."""
    files = read_embedded()
    combos = list(product(SERVICES, ACCELERATORS, INTENTS, OS_TYPES, (0, 2, 4, 8, 16, 32, 64, 128)))
    for n in range(count):
        s, a, i, o, nodes = combos[n % len(combos)]
        doc = {
            "kind": "recipeMetadata",
            "apiVersion": "eidos.nvidia.com/v1alpha1",
            "metadata": {"name": f"gen-{n:04d}"},
            "spec": {
                "criteria": {"service": s, "accelerator": a, "intent": i, "os": o, "nodes": nodes},
                "componentRefs": [{"name": "gpu-operator", "overrides": {"gen": {"n": n}}}],
            },
        }
        files[f"overlays/gen-{n:04d}.yaml"] = yaml.dump(doc).encode()
    return files


def median_of(rounds: int, fn: Callable[[], float]) -> float:
    return float(statistics.median(fn() for _ in range(rounds)))


def main() -> None:
    results: dict[str, object] = {}
    store = load_store(read_embedded(), source="embedded")
    total = median_of(7, lambda: resolve_all(store, ALL))
    results["embedded_all_combinations"] = {
        "queries": len(ALL),
        "total_ms": round(total * 1000, 2),
        "per_query_us": round(total / len(ALL) * 1e6, 1),
    }
    scaling = {}
    query_set = [Criteria("eks", "h100", "training", "ubuntu", 8), Criteria("gke", "a100", "inference", "cos")] * 50
    for count in (10, 100, 1000):
        big = load_store(synthetic_files(count), source="bench")
        per = median_of(7, functools.partial(resolve_all, big, query_set)) / len(query_set)
        scaling[count] = round(per * 1e6, 1)
    results["per_query_us_by_overlay_count"] = scaling
    files = synthetic_files(1000)
    validate = median_of(3, lambda: _timed(lambda: load_store(files, source="b")))
    results["validate_1000_overlays_ms"] = round(validate * 1000, 1)
    print(json.dumps(results, indent=2))


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
