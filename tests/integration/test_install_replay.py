"""Install replays against the real upstream charts (../shared/upstream-charts) and the Kubernetes API
emulator, started bare (no CRDs): what a first install on a new cluster would meet."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from tests.kube.emulator import serve_kube
from tests.kube.plan_steps import steps_from_bundle, steps_from_plan
from tests.kube.replay import ReplayReport, replay

CHARTS = SHARED / "upstream-charts"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHARTS / "index.yaml").is_file(), reason="../shared/upstream-charts is not present"),
]

ISSUER = """\
apiVersion: cert-manager.io/v1
kind: Issuer
metadata:
  name: selfsigned
spec:
  selfSigned: {}
"""
CERT_MANAGER = {"repository": "https://charts.jetstack.io", "name": "cert-manager", "version": "v1.17.2"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Any]:
    async with serve_kube(tmp_path, preinstalled_crds=()) as cluster, cluster.api_client() as client:
        yield client


def hand_bundle(tmp: Path, *, issuer_namespace: str | None = None) -> Path:
    bundle = tmp / "bundle"
    (bundle / "cert-manager").mkdir(parents=True)
    (bundle / "cert-manager" / "values.yaml").write_text("crds:\n  enabled: true\n")
    text = (
        ISSUER
        if issuer_namespace is None
        else ISSUER.replace("metadata:\n", f"metadata:\n  namespace: {issuer_namespace}\n")
    )
    (bundle / "issuer.yaml").write_text(text)
    return bundle


def chart_step(**extra: Any) -> dict[str, Any]:
    step = {"component": "cert-manager", "namespace": "cert-manager", "enabled": True, "chart": CERT_MANAGER}
    return step | {"values": "cert-manager/values.yaml", "manifests": [], "dependsOn": []} | extra


def issuer_step(namespace: str = "cert-manager") -> dict[str, Any]:
    return {"component": "issuer", "namespace": namespace, "manifests": ["issuer.yaml"], "dependsOn": ["cert-manager"]}


async def run(api: Any, plan: dict[str, Any], bundle: Path, helm: Path) -> tuple[ReplayReport, list[str]]:
    steps = steps_from_plan(plan, bundle, CHARTS, helm)
    return await replay(api, steps.steps), steps.skipped


async def test_cert_manager_then_its_issuer_installs(api: Any, tmp_path: Path, helm: Path) -> None:
    bundle = hand_bundle(tmp_path)
    report, skipped = await run(api, {"steps": [chart_step(), issuer_step()]}, bundle, helm)
    assert report.ok, report.failure
    assert skipped == []
    applied = [what for _, what in report.applied]
    assert 'CustomResourceDefinition "issuers.cert-manager.io"' in applied  # templates/crds.yaml (crds.enabled)
    assert 'ValidatingWebhookConfiguration "cert-manager-webhook"' in applied
    assert applied[-1] == 'Issuer "selfsigned" in namespace "cert-manager"'
    # Helm's kind order inside the release: the namespace's ServiceAccounts before Deployments before webhooks
    first = {what.split(" ")[0]: i for i, what in reversed(list(enumerate(applied)))}
    assert first["ServiceAccount"] < first["CustomResourceDefinition"] < first["Deployment"]
    assert first["Deployment"] < first["ValidatingWebhookConfiguration"]


async def test_issuer_before_cert_manager_fails_naming_it(api: Any, tmp_path: Path, helm: Path) -> None:
    bundle = hand_bundle(tmp_path)
    report, _ = await run(api, {"steps": [issuer_step("default"), chart_step()]}, bundle, helm)
    failure = report.failure
    assert failure is not None and (failure.step, failure.step_name) == (1, "issuer manifests")
    assert failure.object == 'Issuer "selfsigned"' and failure.status == 404
    assert 'no matches for kind "Issuer" in version "cert-manager.io/v1"' in failure.answer


async def test_object_in_a_namespace_no_step_creates_fails(api: Any, tmp_path: Path, helm: Path) -> None:
    bundle = hand_bundle(tmp_path, issuer_namespace="monitoring")
    report, _ = await run(api, {"steps": [chart_step(), issuer_step()]}, bundle, helm)
    failure = report.failure
    assert failure is not None and failure.step == 2
    assert (failure.object, failure.status) == ('Issuer "selfsigned" in namespace "monitoring"', 404)
    assert failure.answer == 'namespaces "monitoring" not found'


async def test_components_without_a_chart_here_are_skipped_and_listed(api: Any, tmp_path: Path, helm: Path) -> None:
    bundle = hand_bundle(tmp_path)
    nvsentinel = {"component": "nvsentinel", "namespace": "nvsentinel", "enabled": True}
    nvsentinel["chart"] = {"repository": "oci://ghcr.io/nvidia", "name": "nvsentinel", "version": "v0.3.0"}
    off = chart_step(component="skyhook", enabled=False)
    report, skipped = await run(api, {"steps": [chart_step(), nvsentinel, off]}, bundle, helm)
    assert report.ok, report.failure
    assert skipped[0].startswith("nvsentinel: chart nvsentinel v0.3.0 is not in ") and skipped[1] == "skyhook: disabled"


def eidos_cli(*argv: str, cwd: Path) -> None:
    cli = Path(sys.executable).parent / "eidos-cli"
    proc = subprocess.run([str(cli), *argv], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert proc.returncode == 0, f"eidos-cli {' '.join(argv)}: {proc.stdout}\n{proc.stderr}"


async def test_replay_of_a_real_bundle(api: Any, tmp_path: Path, helm: Path) -> None:
    eidos_cli("recipe", "--service", "eks", "--gpu", "gb200", "--intent", "training", "-o", "recipe.yaml", cwd=tmp_path)
    eidos_cli("bundle", "-r", "recipe.yaml", "-o", "bundle", cwd=tmp_path)
    bundle = tmp_path / "bundle"
    if not (bundle / "install-plan.yaml").is_file():
        pytest.skip("this checkout's bundles have no install-plan.yaml yet")
    steps = steps_from_bundle(bundle, CHARTS, helm)
    report = await replay(api, steps.steps)
    failure = report.failure
    assert report.ok, f"{failure}\n(skipped: {steps.skipped})"
    assert report.applied, "nothing was applied"
    assert all(s.split(":")[0] in {"nvsentinel"} for s in steps.skipped), steps.skipped
