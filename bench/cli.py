"""Benchmark: eidos-cli cold start and bundle time (targets: both < 0.5 s).

    .venv/bin/python -m bench.cli

Reports medians over several runs: ``eidos-cli recipe`` as a fresh process (import, embedded
data load, resolve, print), ``eidos-cli bundle`` as a fresh process for the recipe with the
most components, and the bundle's in-process render + write alone.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import product
from pathlib import Path

from eidos_cli.bundle.bundler import render_bundle
from eidos_cli.bundle.writer import write_bundle
from eidos_core import __version__, yaml
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.sources.embedded import embedded_store

RUNS = 9
CLI = shutil.which("eidos-cli", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def largest_recipe() -> dict[str, object]:
    store = embedded_store()
    docs = [
        recipe_to_document(build_recipe(store, Criteria(s, a, i, o)), __version__)
        for s, a, i, o in product(SERVICES, ACCELERATORS, INTENTS, OS_TYPES)
    ]
    return max(docs, key=lambda d: len(d["componentRefs"]))


def main() -> None:
    assert CLI, "eidos-cli is not installed in this environment"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        recipe_cold = [timed([CLI, "recipe", "--service", "eks", "--gpu", "h100", "--intent", "training"], work)
                       for _ in range(RUNS)]  # fmt: skip
        doc = largest_recipe()
        (work / "recipe.yaml").write_text(yaml.dump(doc))
        bundle_cold = []
        for i in range(RUNS):
            bundle_cold.append(timed([CLI, "bundle", "-r", "recipe.yaml", "-o", f"b{i}"], work))
        store = embedded_store()
        recipe = recipe_from_document(doc)
        render_write = []
        for i in range(RUNS):
            start = time.perf_counter()
            write_bundle(render_bundle(recipe, store).files, str(work / f"w{i}"))
            render_write.append(time.perf_counter() - start)
    components = len(doc["componentRefs"])  # type: ignore[arg-type]
    print(f"eidos-cli recipe, cold process:        median {statistics.median(recipe_cold) * 1000:6.0f} ms "
          f"(min {min(recipe_cold) * 1000:.0f}, max {max(recipe_cold) * 1000:.0f})")  # fmt: skip
    print(f"eidos-cli bundle ({components} components), cold: median {statistics.median(bundle_cold) * 1000:6.0f} ms "
          f"(min {min(bundle_cold) * 1000:.0f}, max {max(bundle_cold) * 1000:.0f})")  # fmt: skip
    print(f"bundle render + write in process:      median {statistics.median(render_write) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
