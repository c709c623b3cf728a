"""Benchmark: ``eidos-cli bundle`` on a very large recipe (issue 9, item 10).

    .venv/bin/python -m bench.bundle_scale [--components 20000] [--deployer helm|argocd]
        [--values-file components/gpu-operator/values.yaml] [--keep DIR]

Writes a ``recipeResult`` with N components (~220 bytes each: 20,000 components ≈ 4.4 MB),
each depending on the one before it and, every tenth, on a component far back as well, with
a small ``overrides`` block, then runs ``eidos-cli bundle -r`` on it as a fresh process under
``/usr/bin/time -v`` (when present) and reports wall time and peak RSS. ``--values-file``
gives every component a real values file (the shape of the 3 MB / 230 s recipe in issue 9:
the bundle is then ~20 MB). Time and memory should grow linearly with N: run it at 2,000 and
20,000 to see.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eidos_core import API_VERSION, yaml

CLI = shutil.which("eidos-cli", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))


def component_name(i: int) -> str:
    return f"component-{i:05d}"


def scale_recipe(components: int, values_file: str = "") -> dict[str, Any]:
    """A recipeResult document of ``components`` components chained by dependencyRefs; with
    ``values_file``, every component takes that values file of the embedded data (so each
    component's values are a real chart's, and the bundle ~60x the recipe's size)."""
    refs: list[dict[str, Any]] = []
    for i in range(components):
        ref: dict[str, Any] = {
            "name": component_name(i),
            "type": "Helm",
            "source": "https://charts.example.com/stable",
            "version": f"1.{i % 50}.{i % 7}",
            "overrides": {"image": {"tag": f"v{i}"}},
        }
        if values_file:
            ref["valuesFile"] = values_file
        deps = []
        if i:
            deps.append(component_name(i - 1))
        if i >= 100 and i % 10 == 0:
            deps.append(component_name(i - 100))
        if deps:
            ref["dependencyRefs"] = deps
        refs.append(ref)
    return {
        "kind": "recipeResult",
        "apiVersion": API_VERSION,
        "metadata": {"version": "bench", "appliedOverlays": ["base"]},
        "criteria": {"service": "any", "accelerator": "any", "intent": "any", "os": "any"},
        "componentRefs": refs,
        # A chain has exactly one order: the names in sequence.
        "deploymentOrder": [component_name(i) for i in range(components)],
    }


def _peak_rss_kib(stderr: str) -> int | None:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return int(m.group(1)) if m else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=20_000)
    parser.add_argument("--deployer", default="helm", choices=("helm", "argocd"))
    parser.add_argument("--keep", metavar="DIR", help="write the recipe and bundle here and keep them")
    parser.add_argument(
        "--values-file", default="", metavar="PATH", help="e.g. components/gpu-operator/values.yaml for every component"
    )
    args = parser.parse_args()
    assert CLI, "eidos-cli is not installed next to this Python"

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="eidos-bundle-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        recipe = work / "recipe.yaml"
        recipe.write_text(yaml.dump(scale_recipe(args.components, args.values_file)))
        output = work / "bundle"
        shutil.rmtree(output, ignore_errors=True)
        argv = [CLI, "bundle", "-r", str(recipe), "-o", str(output), "--deployer", args.deployer]
        if args.deployer == "argocd":
            argv += ["--repo", "https://github.com/example/gitops.git"]
        timer = ["/usr/bin/time", "-v"] if os.access("/usr/bin/time", os.X_OK) else []
        start = time.perf_counter()
        proc = subprocess.run([*timer, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
        rss = _peak_rss_kib(proc.stderr)
        size = recipe.stat().st_size
        values = f", values file {args.values_file}" if args.values_file else ""
        print(f"components:   {args.components:,} ({size / 1e6:.1f} MB recipe, deployer {args.deployer}{values})")
        print(f"exit status:  {proc.returncode}")
        print(f"wall time:    {wall:.2f} s")
        print(f"peak RSS:     {rss / 1024:.0f} MiB" if rss else "peak RSS:     (no /usr/bin/time)")
        if proc.returncode:
            sys.stderr.write(proc.stderr[-2000:])
        return proc.returncode
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
