"""Benchmark: ``eidos-cli bundle`` + ``eidos-cli bundle check`` for the largest embedded recipe.

    .venv/bin/python -m bench.bundle_check [--charts ../shared/upstream-charts] [--runs 3]

Finds the criteria combination (service × accelerator × intent × OS, ``any`` included) whose
recipe has the most components, then times, as fresh processes: ``eidos-cli recipe``,
``eidos-cli bundle -r`` and ``eidos-cli bundle check --charts`` (helm from PATH, or the test
cache ~/.cache/eidos-test-helm). Prints the best and median wall time of each, and the check's
summary line.

    .venv/bin/python -m bench.bundle_check --every [--limit N]

Every bundle instead: the distinct recipes of all criteria combinations, each bundled with both
deployers, checked in process (``check_bundle``) against the chart folder three ways: without a
cache, with a cold cache and with the warm cache (``--cache``). ``--limit N`` checks only the
first N recipes (the no-cache pass takes minutes for all of them).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.sources.embedded import embedded_store

BIN = Path(sys.executable).parent
HELM_CACHE = Path.home() / ".cache" / "eidos-test-helm"


def largest() -> tuple[Criteria, int]:
    store = embedded_store()
    best: tuple[Criteria, int] | None = None
    for s, a, i, o in itertools.product(
        ("any", *SERVICES), ("any", *ACCELERATORS), ("any", *INTENTS), ("any", *OS_TYPES)
    ):
        criteria = Criteria(service=s, accelerator=a, intent=i, os=o)
        try:
            n = len(build_recipe(store, criteria).component_refs)
        except Exception:  # a combination the data refuses is simply not a candidate
            continue
        if best is None or n > best[1]:
            best = (criteria, n)
    assert best is not None
    return best


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    return time.perf_counter() - start, proc


def every(charts: str, limit: int | None) -> None:
    from eidos_cli.bundle.bundler import BundleOptions, render_bundle
    from eidos_cli.bundle.check.cache import CheckCache
    from eidos_cli.bundle.check.run import CheckOptions, check_bundle
    from eidos_cli.bundle.writer import write_bundle
    from eidos_core import __version__
    from eidos_core.recipe.result import recipe_from_document, recipe_to_document

    store = embedded_store()
    recipes: dict[str, dict[str, object]] = {}
    for s, a, i, o in itertools.product(
        ("any", *SERVICES), ("any", *ACCELERATORS), ("any", *INTENTS), ("any", *OS_TYPES)
    ):
        doc = recipe_to_document(build_recipe(store, Criteria(service=s, accelerator=a, intent=i, os=o)), __version__)
        recipes.setdefault(repr((doc.get("componentRefs"), doc.get("deploymentOrder"))), doc)
    chosen = list(recipes.values())[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        bundles = []
        for n, doc in enumerate(chosen):
            for deployer in ("helm", "argocd"):
                out = Path(tmp) / f"{n}-{deployer}"
                bundle_options = BundleOptions(deployer=deployer, bundler_version=__version__)
                write_bundle(render_bundle(recipe_from_document(doc), store, bundle_options).files, out)
                bundles.append(out)
        print(f"{len(bundles)} bundles ({len(chosen)} of {len(recipes)} distinct recipes × 2 deployers)")
        cache = CheckCache(Path(tmp) / "cache")
        for label, cached in (("no cache", None), ("cold cache", cache), ("warm cache", cache)):
            check_options = CheckOptions(charts=charts, kubernetes_version="1.34.0", cache=cached)
            start = time.perf_counter()
            findings = sum(len(check_bundle(b, check_options).findings) for b in bundles)
            seconds = time.perf_counter() - start
            print(
                f"{label:11} {seconds:7.2f} s   {seconds / len(bundles) * 1000:6.0f} ms/bundle   {findings} finding(s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--charts", default=str(Path(__file__).resolve().parents[2] / "shared" / "upstream-charts"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--every", action="store_true", help="time bundle check of every distinct bundle")
    parser.add_argument("--limit", type=int, default=None, help="with --every: only the first N recipes")
    args = parser.parse_args()
    env = dict(os.environ)
    if shutil.which("helm") is None and (HELM_CACHE / "helm").is_file():
        env["PATH"] = f"{HELM_CACHE}{os.pathsep}{env.get('PATH', '')}"
    if args.every:
        os.environ["PATH"] = env["PATH"]  # in process: check_bundle finds helm on PATH
        every(args.charts, args.limit)
        return
    criteria, n = largest()
    flags = [f"--{k}={v}" for k, v in (("service", criteria.service), ("gpu", criteria.accelerator),
                                       ("intent", criteria.intent), ("os", criteria.os)) if v != "any"]  # fmt: skip
    print(f"largest embedded recipe: {' '.join(flags) or '(any)'}: {n} components")
    times: dict[str, list[float]] = {"recipe": [], "bundle": [], "bundle check": []}
    summary = ""
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            recipe, out = f"{tmp}/r{run}.yaml", f"{tmp}/b{run}"
            for name, cmd in (
                ("recipe", [str(BIN / "eidos-cli"), "recipe", *flags, "-o", recipe]),
                ("bundle", [str(BIN / "eidos-cli"), "bundle", "-r", recipe, "-o", out]),
                ("bundle check", [str(BIN / "eidos-cli"), "bundle", "check", out, "--charts", args.charts]),
            ):
                seconds, proc = timed(cmd, env)
                if proc.returncode not in (0, 7):
                    sys.exit(f"{name} failed ({proc.returncode}): {proc.stderr.strip()}")
                times[name].append(seconds)
                if name == "bundle check":
                    summary = proc.stdout.strip().splitlines()[-1]
    for name, values in times.items():
        print(f"{name:13} best {min(values):6.3f} s   median {statistics.median(values):6.3f} s   ({len(values)} runs)")
    total = [sum(v[i] for v in times.values()) for i in range(args.runs)]
    print(f"{'total':13} best {min(total):6.3f} s")
    print(f"check: {summary}")


if __name__ == "__main__":
    main()
