"""Benchmark: push and pull of the largest bundle to and from a real OCI registry on 127.0.0.1.

    .venv/bin/python -m bench.oci [--runs 5]

Needs the distribution registry (``apt-get install docker-registry``; tests/registry.py starts
it). The largest bundle: every distinct recipe of the criteria combinations (service ×
accelerator × intent × OS, ``any`` included) rendered with the Helm deployer, the one with the
most bytes. Timed, ``--runs`` times each (best and median, seconds):

* ``push_cold``: ``push_bundle`` in process to a new repository (every blob uploaded);
* ``push_warm``: the same bundle again to the same repository (blobs exist: HEAD only);
* ``pull``: ``pull_bundle`` + ``write_pulled`` in process into a new directory (every digest
  and checksum verified);
* ``cli_push`` / ``cli_pull``: ``eidos-cli bundle -r … -o oci://…`` and ``eidos-cli bundle
  pull`` as fresh processes (what a pipeline step costs: start-up, recipe data, rendering);
* ``push_charts_cold``: with ../shared/upstream-charts present, ``push_charts`` of the bundle's
  charts found there to a new repository (``--push-charts --charts``; once, it is megabytes).

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eidos_cli.bundle.bundler import Bundle, BundleOptions, render_bundle
from eidos_cli.bundle.oci import (
    RegistryOptions,
    bundle_artifact,
    parse_reference,
    pull_bundle,
    push_bundle,
    push_charts,
    write_pulled,
)
from eidos_core import __version__, yaml
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.sources.embedded import embedded_store
from tests.registry import registry_binary, start_registry

CLI = str(Path(sys.executable).parent / "eidos-cli")


UPSTREAM_CHARTS = Path(__file__).resolve().parent.parent.parent / "shared" / "upstream-charts"


def largest() -> tuple[Criteria, dict[str, Any], Bundle]:
    """The criteria, recipe document and Helm bundle of the largest bundle by bytes."""
    store = embedded_store()
    seen: set[str] = set()
    best: tuple[int, Criteria, dict[str, Any], Bundle] | None = None
    for s, a, i, o in itertools.product(
        ("any", *SERVICES), ("any", *ACCELERATORS), ("any", *INTENTS), ("any", *OS_TYPES)
    ):
        criteria = Criteria(service=s, accelerator=a, intent=i, os=o)
        try:
            doc = recipe_to_document(build_recipe(store, criteria), __version__)
        except Exception:  # a combination the data refuses is simply not a candidate
            continue
        key = json.dumps([doc.get("componentRefs"), doc.get("deploymentOrder")], sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        bundle = render_bundle(recipe_from_document(doc), store, BundleOptions(bundler_version=__version__))
        if best is None or bundle.size > best[0]:
            best = (bundle.size, criteria, doc, bundle)
    assert best is not None
    return best[1], best[2], best[3]


def timed(runs: int, step: Callable[[int], object]) -> dict[str, float]:
    times = []
    for run in range(runs):
        start = time.perf_counter()
        step(run)
        times.append(time.perf_counter() - start)
    return {"best_s": round(min(times), 4), "median_s": round(statistics.median(times), 4)}


def cli(*argv: str) -> str:
    proc = subprocess.run([CLI, *argv], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"eidos-cli {' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if registry_binary() is None:
        raise SystemExit("no OCI registry binary: apt-get install docker-registry")

    criteria, doc, bundle = largest()
    files = dict(bundle.files)
    artifact = bundle_artifact(files, deployer="helm", version=__version__)
    layer = max(len(data) for _, data in artifact.blobs.values())
    options = RegistryOptions(plain_http=True)
    with tempfile.TemporaryDirectory(prefix="eidos-bench-oci-") as tmp_name:
        tmp = Path(tmp_name)
        registry = start_registry(tmp / "registry")
        try:
            host = registry.host
            results: dict[str, Any] = {
                "criteria": {k: getattr(criteria, k) for k in ("service", "accelerator", "intent", "os")},
                "components": len(doc.get("componentRefs") or []),
                "files": len(files),
                "bundle_bytes": sum(len(v) for v in files.values()),
                "layer_bytes": layer,
                "registry": "distribution (docker-registry) on 127.0.0.1, plain HTTP",
                "runs": args.runs,
            }
            results["push_cold"] = timed(
                args.runs,
                lambda run: push_bundle(
                    files,
                    parse_reference(f"oci://{host}/cold/run{run}:v1"),
                    deployer="helm",
                    version=__version__,
                    options=options,
                ),
            )
            warm = parse_reference(f"oci://{host}/bench/stack:v1")
            digest = push_bundle(files, warm, deployer="helm", version=__version__, options=options)
            results["push_warm"] = timed(
                args.runs,
                lambda run: push_bundle(files, warm, deployer="helm", version=__version__, options=options),
            )
            pinned = parse_reference(warm.pinned(digest))
            results["pull"] = timed(
                args.runs,
                lambda run: write_pulled(pull_bundle(pinned, options).files, tmp / f"pull{run}", force=False),
            )
            recipe = tmp / "recipe.yaml"
            recipe.write_text(yaml.dump(doc))
            results["cli_push"] = timed(
                args.runs,
                lambda run: cli("bundle", "-r", str(recipe), "-o", f"oci://{host}/cli/run{run}:v1", "--plain-http"),
            )
            results["cli_pull"] = timed(
                args.runs,
                lambda run: cli("bundle", "pull", warm.pinned(digest), str(tmp / f"cli-pull{run}"), "--plain-http"),
            )
            results["digest"] = digest
            steps = bundle.plan.steps if bundle.plan is not None else ()
            charts = [
                st.chart
                for st in steps
                if st.chart is not None
                and list(UPSTREAM_CHARTS.glob(f"{st.chart.name}-*{st.chart.version.lstrip('v')}.tgz"))
            ]
            if charts:
                start = time.perf_counter()
                pushed = push_charts(
                    charts,
                    parse_reference(f"oci://{host}/charts/stack:v1"),
                    source=str(UPSTREAM_CHARTS),
                    options=options,
                )
                results["push_charts_cold"] = {
                    "charts": len(pushed),
                    "bytes": sum(
                        p.stat().st_size
                        for c in charts
                        for p in UPSTREAM_CHARTS.glob(f"{c.name}-*{c.version.lstrip('v')}.tgz")
                    ),
                    "seconds": round(time.perf_counter() - start, 4),
                }
        finally:
            registry.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
