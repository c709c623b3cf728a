"""Every bundle the embedded recipe data can produce installs: ``bundle check`` finds nothing and the
install replays on a bare cluster (issue 10, "Done when").

Every criteria combination (service × accelerator × intent × OS, ``any`` included: 600) is resolved;
combinations that resolve to the same recipe (same componentRefs and deploymentOrder) are rendered
once, with both deployers, by the real bundler. Then:

* ``bundle check`` (in process, :func:`check_bundle`) runs against ../shared/upstream-charts served
  as a chart repository on 127.0.0.1, with the real helm, and must report zero findings. Components
  whose chart is not in that repository (NVSentinel) must be listed as unchecked — exactly those,
  each with its reason — never passed silently. The render cache (``--cache``) is shared by the
  whole session, so a step that many bundles share is rendered once: that is what keeps this test
  within CI's budget, and it is the cache's real use (one pipeline, many bundles).
* Argo CD bundles are checked too, not assumed: both deployers write the same ``install-plan.yaml``
  from the same plan (asserted for every recipe), so the Argo CD check renders the same steps and
  costs only cache lookups.
* Helm bundles' install plans are replayed (tests/kube/plan_steps.py, replay.py, rendering with the
  real helm and charts) against a fresh Kubernetes API emulator with no CRDs: CRDs before their
  custom resources, namespaces before what lives in them.

  **Reduced in CI, honestly:** a replay costs about 2 s of API traffic even when every render is
  reused, and the ~100 distinct plans would take ~4 minutes on CI's 2 cores. By default one bundle is
  replayed per distinct *install shape* — the steps' components, namespaces, charts, order and extra
  manifests (12 shapes today) — and the bundles that share it are named with it in a failure. Bundles
  of one shape differ only in values; what values change about the install (a custom resource a
  value enables, a namespace a value names) is checked for *every* bundle by ``bundle check`` above
  (missing-crd, namespace, schema), statically. ``EIDOS_EVERY_BUNDLE_REPLAY=all`` replays every
  distinct plan (values included) instead, for a nightly run.

Failures are collected over all bundles and reported together, each with the criteria that give it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from eidos_cli.bundle.bundler import BundleOptions, render_bundle
from eidos_cli.bundle.check.cache import CheckCache
from eidos_cli.bundle.check.run import CheckOptions, check_bundle
from eidos_cli.bundle.check.schema import check_version
from eidos_cli.bundle.plan import PLAN_FILE
from eidos_cli.bundle.writer import write_bundle
from eidos_cli.commands.bundle_check import DEFAULT_KUBERNETES_VERSION
from eidos_core import __version__, yaml
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, ANY, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.sources.embedded import embedded_store
from tests.charts import UPSTREAM_CHARTS
from tests.kube.emulator import serve_kube
from tests.kube.plan_steps import PlanSteps, chart_index, steps_from_bundle
from tests.kube.replay import Capabilities, Manifest, replay

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (UPSTREAM_CHARTS / "index.yaml").is_file(), reason="../shared/upstream-charts is not present"
    ),
]

DEPLOYERS = ("helm", "argocd")


@dataclasses.dataclass
class Recipe:
    """One distinct recipe and every criteria combination that resolves to it."""

    document: dict[str, Any]
    criteria: list[str]

    @property
    def name(self) -> str:
        more = f" (+{len(self.criteria) - 1} more)" if len(self.criteria) > 1 else ""
        return self.criteria[0] + more


def _label(c: Criteria) -> str:
    return f"service={c.service} accelerator={c.accelerator} intent={c.intent} os={c.os}"


def distinct_recipes() -> tuple[int, list[Recipe]]:
    """(number of combinations, the distinct recipes), deduplicated by componentRefs + deploymentOrder."""
    store = embedded_store()
    found: dict[str, Recipe] = {}
    combinations = 0
    for s, a, i, o in itertools.product((ANY, *SERVICES), (ANY, *ACCELERATORS), (ANY, *INTENTS), (ANY, *OS_TYPES)):
        combinations += 1
        criteria = Criteria(service=s, accelerator=a, intent=i, os=o)
        # A combination the data refuses would raise here and fail the test: every one must answer.
        document = recipe_to_document(build_recipe(store, criteria), __version__)
        identity = json.dumps(
            [document.get("componentRefs"), document.get("deploymentOrder")], sort_keys=True, default=str
        )
        found.setdefault(identity, Recipe(document, [])).criteria.append(_label(criteria))
    return combinations, list(found.values())


@dataclasses.dataclass(frozen=True)
class Bundles:
    recipes: list[Recipe]
    combinations: int
    root: Path

    def path(self, index: int, deployer: str) -> Path:
        return self.root / f"{index:03d}-{deployer}"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Bundles:
    combinations, recipes = distinct_recipes()
    root = tmp_path_factory.mktemp("every-bundle")
    store = embedded_store()
    for index, recipe in enumerate(recipes):
        parsed = recipe_from_document(recipe.document)
        for deployer in DEPLOYERS:
            bundle = render_bundle(parsed, store, BundleOptions(deployer=deployer, bundler_version=__version__))
            write_bundle(bundle.files, root / f"{index:03d}-{deployer}")
    return Bundles(recipes, combinations, root)


@pytest.fixture(scope="module")
def check_env(helm: Path) -> Iterator[None]:
    """helm on PATH (bundle check uses the helm on PATH) and loopback never through a proxy."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{helm.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        for var in ("NO_PROXY", "no_proxy"):
            mp.setenv(var, ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"])))
        mp.delenv("EIDOS_CHECK_CACHE", raising=False)
        yield


def _plan(bundle: Path) -> Mapping[str, Any]:
    plan: Mapping[str, Any] = yaml.load((bundle / PLAN_FILE).read_bytes(), source=str(bundle / PLAN_FILE))
    return plan


def without_chart(bundle: Path, charts: Path) -> set[str]:
    """Enabled chart steps whose chart (name, version) the chart folder's index does not have."""
    index = chart_index(charts)
    return {
        str(s["component"])
        for s in _plan(bundle).get("steps") or []
        if s.get("enabled", True) and s.get("chart") and (s["chart"]["name"], str(s["chart"]["version"])) not in index
    }


def test_every_combination_resolves_to_a_known_set_of_recipes(bundles: Bundles) -> None:
    axes = (1 + len(SERVICES)) * (1 + len(ACCELERATORS)) * (1 + len(INTENTS)) * (1 + len(OS_TYPES))
    assert bundles.combinations == axes == 600
    assert sum(len(r.criteria) for r in bundles.recipes) == axes
    assert 1 < len(bundles.recipes) <= axes


def test_both_deployers_write_the_same_install_plan(bundles: Bundles) -> None:
    differ = [
        r.name
        for i, r in enumerate(bundles.recipes)
        if (bundles.path(i, "helm") / PLAN_FILE).read_bytes() != (bundles.path(i, "argocd") / PLAN_FILE).read_bytes()
    ]
    assert differ == [], f"{len(differ)} recipe(s) whose Argo CD install-plan.yaml differs from Helm's: {differ}"


def test_bundle_check_of_every_bundle_is_clean(
    bundles: Bundles, chart_repo: str, upstream_charts: Path, check_env: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache = CheckCache(tmp_path_factory.mktemp("check-cache"))
    options = CheckOptions(charts=chart_repo, kubernetes_version=check_version(DEFAULT_KUBERNETES_VERSION), cache=cache)
    problems: list[str] = []
    by_finding: dict[str, list[str]] = {}  # one finding → the bundles that have it
    findings = checked = 0
    unchecked_components: set[str] = set()
    for index, recipe in enumerate(bundles.recipes):
        for deployer in DEPLOYERS:
            bundle = bundles.path(index, deployer)
            report = check_bundle(bundle, options)
            checked += 1
            where = f"{deployer} bundle for {recipe.name}"
            findings += len(report.findings)
            for f in sorted(report.findings):
                by_finding.setdefault(f"{f.component}  {f.file}  {f.key}  [{f.check}]  {f.message}", []).append(where)
            # Unchecked must be exactly the components whose chart the repository lacks, each with why.
            expected = without_chart(bundle, upstream_charts)
            got = {u.component for u in report.unchecked}
            unchecked_components |= got
            if got != expected or not all("not found" in u.reason for u in report.unchecked):
                problems.append(f"{where}: unchecked {sorted(got)} {report.unchecked}, expected {sorted(expected)}")
            if not report.checked:
                problems.append(f"{where}: no component was checked")
    print(
        f"\nbundle check: {checked} bundles ({len(bundles.recipes)} recipes × {len(DEPLOYERS)} deployers, "
        f"{bundles.combinations} combinations), {findings} finding(s), unchecked components: "
        f"{sorted(unchecked_components)}; cache hits {cache.hits}, misses {cache.misses}"
    )
    assert checked == 2 * len(bundles.recipes)
    # Grouped by finding (the same data defect shows in many bundles), each with the bundles it is in.
    for finding, bundles_with_it in sorted(by_finding.items(), key=lambda kv: -len(kv[1])):
        n = len(bundles_with_it)
        shown = "; ".join(bundles_with_it[:3]) + (f"; and {n - 3} more" if n > 3 else "")
        problems.append(f"{finding}\n      in {n} bundle(s): {shown}")
    assert problems == [], f"{len(by_finding)} distinct finding(s), {findings} in all, and other problems:\n" + (
        "\n".join(problems)
    )


REPLAY_ALL_ENV = "EIDOS_EVERY_BUNDLE_REPLAY"


def _plan_identity(bundle: Path, *, with_values: bool) -> str:
    """The install plan and the files it names. With ``with_values``, bundles equal here replay
    identically. Without, this is the bundle's install shape: the steps (component, namespace,
    chart, enabled) and their extra manifests, i.e. which releases go where, in which order."""
    plan = _plan(bundle)
    h = hashlib.sha256()
    for step in plan.get("steps") or []:
        shape = {k: step.get(k) for k in ("component", "namespace", "enabled", "chart", "kustomize", "dependsOn")}
        h.update(json.dumps(shape, sort_keys=True, default=str).encode())
        files = [*(step.get("manifests") or [])] + ([step["values"]] if with_values and step.get("values") else [])
        for rel in files:
            h.update(rel.encode() + b"\0" + (bundle / rel).read_bytes())
    return h.hexdigest()


class RenderMemo:
    """Replay renders by everything ``helm template`` sees: most bundles share most steps.

    Wraps the render of each chart step from :func:`steps_from_bundle` (the harness's own Step type,
    unchanged otherwise): the key is the release, namespace, chart, values bytes and the cluster's
    capabilities at that point of the replay, so a step renders again whenever any of them differs.
    """

    def __init__(self) -> None:
        self.renders: dict[tuple[Any, ...], Sequence[Manifest]] = {}
        self.hits = 0

    def steps(self, bundle: Path, charts: Path, helm: Path) -> PlanSteps:
        plan_steps = steps_from_bundle(bundle, charts, helm)
        by_component = {str(s["component"]): s for s in _plan(bundle).get("steps") or []}
        wrapped = []
        for step in plan_steps.steps:
            item = by_component.get(step.name)
            if step.render is None or item is None:
                wrapped.append(step)
                continue
            values = (bundle / item["values"]).read_bytes() if item.get("values") else None
            identity = (step.name, step.namespace, item["chart"]["name"], str(item["chart"]["version"]), values)
            wrapped.append(dataclasses.replace(step, render=self._memo(identity, step.render)))
        return PlanSteps(wrapped, plan_steps.skipped)

    def _memo(
        self, identity: tuple[Any, ...], render: Callable[[Capabilities], Sequence[Manifest]]
    ) -> Callable[[Capabilities], Sequence[Manifest]]:
        def cached(caps: Capabilities) -> Sequence[Manifest]:
            key = (*identity, caps)
            if key in self.renders:
                self.hits += 1
            else:
                self.renders[key] = render(caps)
            return self.renders[key]

        return cached


def test_install_replay_of_every_helm_bundle(
    bundles: Bundles, helm: Path, upstream_charts: Path, tmp_path: Path
) -> None:
    every_plan = os.environ.get(REPLAY_ALL_ENV) == "all"
    groups: dict[str, list[int]] = {}
    for index in range(len(bundles.recipes)):
        groups.setdefault(_plan_identity(bundles.path(index, "helm"), with_values=every_plan), []).append(index)
    failures: list[str] = []
    skipped_components: set[str] = set()
    memo = RenderMemo()

    async def replay_all() -> None:
        for n, indices in enumerate(groups.values()):
            bundle = bundles.path(indices[0], "helm")
            steps = memo.steps(bundle, upstream_charts, helm)
            skipped_components.update(s.split(":")[0] for s in steps.skipped)
            unexpected = {s.split(":")[0] for s in steps.skipped} - without_chart(bundle, upstream_charts)
            directory = tmp_path / f"kube-{n}"
            directory.mkdir()
            async with serve_kube(directory, preinstalled_crds=()) as cluster, cluster.api_client() as api:
                report = await replay(api, steps.steps)
                internal = cluster.emulator.internal_errors
            names = "; ".join(bundles.recipes[i].name for i in indices)
            if not report.ok:
                failures.append(f"{names}: {report.failure}")
            elif not report.applied:
                failures.append(f"{names}: nothing was applied")
            if unexpected:
                failures.append(f"{names}: steps skipped that have a chart here: {steps.skipped}")
            if internal:
                failures.append(f"{names}: the emulator failed internally: {internal!r}")

    asyncio.run(replay_all())
    what = "plans" if every_plan else "install shapes"
    print(
        f"\ninstall replay: {len(groups)} distinct Helm {what}; skipped components: {sorted(skipped_components)}; "
        f"{len(memo.renders)} helm template runs, {memo.hits} reused"
    )
    assert failures == [], f"{len(failures)} of {len(groups)} replay(s) failed:\n" + "\n".join(failures)
