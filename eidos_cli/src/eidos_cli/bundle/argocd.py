"""The Argo CD app-of-apps layout: pure, install plan → files.

```
<component>/application.yaml      one Application per plan step; sync wave = its position
<component>/values.yaml           its Helm values (from the plan), read through a ``$values`` ref
<component>/manifests/*.yaml      its extra manifests, rendered, synced by the same Application
app-of-apps.yaml                  the parent Application that picks up */application.yaml
argocd-health-customization.yaml  the argocd-cm entry that makes sync waves wait (apply first)
install-plan.yaml                 the shared install plan (``plan.plan_files``)
README.md
checksums.txt                     SHA-256 of everything above
```

Everything a component needs comes from the one install plan (``plan.build_plan``): namespace,
chart, values, rendered manifests and step order; a component disabled at bundle time is not
a step, so it has no Application, no files and no README line.

Choices, each a fix of the reference (issue 10):

* **Extra manifests are a second source of the component's own Application** — a directory
  source on the GitOps repository at ``<component>/manifests`` — so they sync in the same wave,
  are pruned with it, and Argo CD sees the chart's CRDs and the custom resources in one sync
  (it then skips the dry run of a CR whose CRD is new). Inside the Application, built-in kinds
  (ConfigMaps a chart reads) get resource wave -1 and custom resources wave 1, so the
  ConfigMaps exist before the operator starts and a CR is applied only after the operator
  (and its admission webhook) is healthy.
* **Values through ``$values``** from the same repository, not ``helm.valuesObject``: the
  app-of-apps already needs that repository and branch, so it adds no setup, and the values
  file stays the one the install plan (and ``bundle check``) names — editing and pushing it is
  the whole customisation story.
* **Helm OCI charts** are written as Argo CD's Helm source expects them: ``repoURL`` without
  ``oci://`` plus ``chart`` (Argo CD treats a repoURL without a scheme as an OCI registry); it
  works on every 2.x and 3.x release, unlike the ``oci://…`` + ``path: .`` form (3.1+).
* **Sync waves wait** only with the ``argoproj.io/Application`` health check in argocd-cm
  (removed from Argo CD in 1.8): shipped as ``argocd-health-customization.yaml``.
* Each component Application carries the resources finalizer, so deleting it (or its directory
  in Git, which the parent prunes) removes what it installed; ``ServerSideApply`` because the
  charts' CRDs exceed the 256 KiB client-side apply annotation; retries with backoff for the
  moments a webhook or CRD of an earlier wave is not served yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eidos_cli.bundle.checksums import CHECKSUMS_FILE, checksums
from eidos_cli.bundle.paths import RECIPE_FILE, safe_name
from eidos_cli.bundle.plan import (
    PLAN_FILE,
    InstallPlan,
    Step,
    plan_files,
)
from eidos_cli.bundle.yamlout import dump
from eidos_core import yaml
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import Recipe

PLACEHOLDER_REPO = "https://github.com/YOUR-ORG/YOUR-REPO.git"
REVISION = "main"  # the GitOps branch every Git source reads
ARGOCD_NAMESPACE = "argocd"
PARENT_APP = "nvidia-stack"
HEALTH_FILE = "argocd-health-customization.yaml"
HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"
TOP_LEVEL_FILES = ("app-of-apps.yaml", HEALTH_FILE, PLAN_FILE, RECIPE_FILE, "README.md", CHECKSUMS_FILE)
WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
SYNC_OPTIONS = ("CreateNamespace=true", "ServerSideApply=true")
RETRY = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}
IN_CLUSTER = "https://kubernetes.default.svc"

# The Lua health check for child Applications: an Application is as healthy as Argo CD found
# its own resources to be, and Progressing until it has been assessed (a child that was just
# created has no status yet and must not count as healthy).
HEALTH_LUA = """\
hs = {}
hs.status = "Progressing"
hs.message = "waiting for the Application's first health assessment"
if obj.status ~= nil and obj.status.health ~= nil and obj.status.health.status ~= nil then
  hs.status = obj.status.health.status
  hs.message = obj.status.health.message or ""
end
return hs
"""

# API groups that are built into Kubernetes: the core group ("") and the *.k8s.io and
# single-word groups (apps, batch, policy, ...). Anything else is served by a CRD.
_BUILT_IN_GROUP = re.compile(r"([a-z0-9]+|[a-z0-9.-]*\.k8s\.io)")


def oci_or_http_repo(repository: str) -> str:
    """``repoURL`` as Argo CD's Helm source wants it: no ``oci://`` for OCI registries."""
    if repository.startswith("oci://"):
        return repository.removeprefix("oci://").rstrip("/")
    return repository


def _manifest_dir(step: Step) -> str:
    directory = f"{step.component}/manifests"
    for path in step.manifests:
        # The Application reads exactly this directory, so every manifest must be in it.
        if path.rsplit("/", 1)[0] != directory:
            raise InvalidRequestError(
                f"manifest {path} of component {step.component} is not in {directory}/",
                details={"component": step.component, "file": path},
            )
        # The parent's include glob ``*/application.yaml`` matches across '/' (Argo CD's glob
        # has no separator), so such a manifest would be applied as a child Application.
        if path.rsplit("/", 1)[-1] == "application.yaml":
            raise InvalidRequestError(
                f"manifest {path} of component {step.component} cannot be named application.yaml "
                "in an Argo CD bundle: the app-of-apps would take it for an Application; rename it",
                details={"component": step.component, "file": path},
            )
    return directory


def _sources(step: Step, repo: str) -> list[dict[str, Any]]:
    git = repo or PLACEHOLDER_REPO
    sources: list[dict[str, Any]] = []
    if step.chart is not None:
        sources.append(
            {
                "repoURL": oci_or_http_repo(step.chart.repository),
                "chart": step.chart.name,
                "targetRevision": step.chart.version,
                "helm": {
                    # The plan computed service names (``{release}``) with the component name.
                    "releaseName": step.component,
                    "valueFiles": [f"$values/{step.values_file}"],
                },
            }
        )
        sources.append({"repoURL": git, "targetRevision": REVISION, "ref": "values"})
    elif step.kustomize is not None:
        k = step.kustomize
        sources.append({"repoURL": k.source, "path": k.path or ".", "targetRevision": k.tag or "HEAD"})
    else:
        raise InvalidRequestError(f"component {step.component} has neither a chart nor a Kustomize source")
    if step.manifests:
        sources.append({"repoURL": git, "targetRevision": REVISION, "path": _manifest_dir(step)})
    return sources


def application(step: Step, wave: int, repo: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": step.component,
            "namespace": ARGOCD_NAMESPACE,
            "annotations": {WAVE_ANNOTATION: str(wave)},
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": "default",
            "sources": _sources(step, repo),
            "destination": {"server": IN_CLUSTER, "namespace": step.namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": list(SYNC_OPTIONS),
                "retry": RETRY,
            },
        },
    }


def app_of_apps(repo: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": PARENT_APP, "namespace": ARGOCD_NAMESPACE},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": repo or PLACEHOLDER_REPO,
                "targetRevision": REVISION,
                "path": ".",
                "directory": {"recurse": True, "include": "*/application.yaml"},
            },
            "destination": {"server": IN_CLUSTER, "namespace": ARGOCD_NAMESPACE},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "retry": RETRY},
        },
    }


def health_customization() -> dict[str, Any]:
    """The argocd-cm entry, as a ConfigMap to merge into the live one (see the README)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "argocd-cm",
            "namespace": ARGOCD_NAMESPACE,
            "labels": {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"},
        },
        "data": {HEALTH_KEY: HEALTH_LUA},
    }


def health_file() -> str:
    return (
        "# Makes the sync waves of the app-of-apps wait: a child Application counts as healthy only\n"
        "# when its own resources are (Argo CD dropped this health check in 1.8). Merge it into the\n"
        "# live argocd-cm before applying app-of-apps.yaml, keeping its other settings:\n"
        f"#   kubectl patch configmap argocd-cm -n {ARGOCD_NAMESPACE} --type merge --patch-file {HEALTH_FILE}\n"
        "---\n" + dump(health_customization())
    )


def _resource_wave(obj: Mapping[str, Any]) -> str:
    """-1 for built-in kinds (read by the chart: exist first), 1 for custom resources (after
    the operator that serves and admits them is healthy)."""
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return "-1" if not group or _BUILT_IN_GROUP.fullmatch(group) else "1"


_DOC_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)


def with_resource_waves(path: str, data: bytes) -> bytes:
    """A rendered manifest with a resource sync wave on every object that has none."""
    out: list[str] = []
    for part in _DOC_SEPARATOR.split(data.decode("utf-8")):
        obj = yaml.load(part, source=path)
        if obj is None:
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
            raise InvalidRequestError(f"manifest {path} holds something that is not a Kubernetes object")
        metadata = obj["metadata"]
        annotations = metadata.get("annotations")
        if annotations is None:
            annotations = metadata["annotations"] = {}
        if not isinstance(annotations, dict):
            raise InvalidRequestError(f"manifest {path}: metadata.annotations is not a mapping")
        annotations.setdefault(WAVE_ANNOTATION, _resource_wave(obj))
        # Comments before the object say what it is for; keep them.
        lead = []
        for line in part.lstrip("\n").splitlines():
            if not line.startswith("#"):
                break
            lead.append(line + "\n")
        out.append("".join(lead) + dump(obj))
    return "---\n".join(out).encode()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _source_text(step: Step) -> str:
    if step.chart is not None:
        return f"{step.chart.name} {step.chart.version} from {step.chart.repository}"
    if step.kustomize is not None:
        return f"Kustomize {step.kustomize.source} {step.kustomize.path} @ {step.kustomize.tag or 'HEAD'}"
    return ""


def _enabled(plan: InstallPlan) -> list[Step]:
    """The steps that become Applications, in install order; a step marked disabled has none."""
    return [s for s in plan.steps if s.enabled]


def render_readme(recipe: Recipe, plan: InstallPlan, bundler_version: str) -> str:
    steps = _enabled(plan)
    lines = [
        "# ArgoCD Deployment Bundle",
        "",
        f"Bundler Version: {bundler_version}",
        f"Recipe Version: {recipe.version}",
        "",
        "## Overview",
        "",
        f"An Argo CD app-of-apps. The `{PARENT_APP}` Application syncs one child Application per",
        "component, one sync wave per component in the install plan's order (`install-plan.yaml`).",
        "Each child installs its chart (values from `<component>/values.yaml` in this repository)",
        "and, where it has any, its extra manifests from `<component>/manifests/`.",
        "",
        f"The waves wait for each other only once `{HEALTH_FILE}` is in argocd-cm",
        "(see below); without it Argo CD starts every wave as soon as the previous Applications",
        "exist, whatever their health.",
        "",
        "## Components",
        "",
        "| Sync Wave | Component | Namespace | Source | Extra manifests |",
        "|-----------|-----------|-----------|--------|-----------------|",
    ]
    for wave, s in enumerate(steps):
        manifests = ", ".join(f"`{p.rsplit('/', 1)[-1]}`" for p in s.manifests) or "-"
        lines.append(f"| {wave} | {_cell(s.component)} | {s.namespace} | {_cell(_source_text(s))} | {manifests} |")
    lines.append("")
    if plan.disabled:
        lines += [
            "Disabled when the bundle was generated (not in it at all): "
            + ", ".join(f"`{_cell(n)}`" for n in plan.disabled)
            + ".",
            "",
        ]
    lines += [
        "## Prerequisites",
        "",
        f"- Argo CD 2.6 or later in the `{ARGOCD_NAMESPACE}` namespace (multi-source Applications and",
        "  `$values` references).",
        f"- A Git repository Argo CD can read, holding these files on branch `{REVISION}`.",
        "",
        "## Deployment Steps",
        "",
        "```shell",
        "# 1. If the bundle was generated without --repo, point it at your repository",
        f"sed -i 's#{PLACEHOLDER_REPO}#https://github.com/<org>/<repo>.git#' app-of-apps.yaml */application.yaml",
        "# 2. Commit these files to that repository",
        "git add . && git commit -m 'NVIDIA GPU stack' && git push",
        "# 3. Make sync waves wait for child Applications (once per Argo CD installation)",
        f"kubectl patch configmap argocd-cm -n {ARGOCD_NAMESPACE} --type merge --patch-file {HEALTH_FILE}",
        "# 4. Create the parent Application",
        "kubectl apply -f app-of-apps.yaml",
        "# 5. Watch it sync, wave by wave",
        f"argocd app get {PARENT_APP}",
        f"argocd app wait {PARENT_APP} --health --timeout 1800",
        "```",
        "",
        "If your branch is not `main`, replace `targetRevision: main` in app-of-apps.yaml and",
        "*/application.yaml as well. If Argo CD is installed with its Helm chart, put the",
        f"`{HEALTH_KEY}` entry under `configs.cm` instead of step 3.",
        "",
        "## Sync Waves",
        "",
        "With the health check in place, the parent applies a wave only after the Applications of",
        "the previous waves are Healthy — that is, after Argo CD found every resource each of them",
        "installed healthy. A failed sync is retried 5 times with backoff (10s doubling, at most 3m):",
        *[f"- **Wave {i}**: {s.component} (namespace `{s.namespace}`)" for i, s in enumerate(steps)],
        "",
        "Each Application creates its namespace (`CreateNamespace=true`) and applies with",
        "server-side apply (`ServerSideApply=true`: the charts' CRDs are too large for client-side apply).",
        "",
    ]
    with_manifests = [s for s in steps if s.manifests]
    if with_manifests:
        lines += [
            "## Extra Manifests",
            "",
            "Rendered for the component's namespace when the bundle was generated (plain YAML), and",
            "synced by the component's own Application as a second source. Within that Application,",
            "built-in kinds such as ConfigMaps are applied first (resource wave -1) and custom",
            "resources last (resource wave 1), after the chart's operator is healthy.",
            "",
            *[f"- {s.component}: " + ", ".join(f"`{p}`" for p in s.manifests) for s in with_manifests],
            "",
        ]
    lines += [
        "## Directory Structure",
        "",
        "```",
        ".",
        "├── app-of-apps.yaml",
        f"├── {HEALTH_FILE}",
        f"├── {PLAN_FILE}",
        f"├── {RECIPE_FILE}",
        "├── README.md",
        "├── checksums.txt",
    ]
    for i, s in enumerate(steps):
        branch, stem = ("└──", "    ") if i == len(steps) - 1 else ("├──", "│   ")
        children: list[tuple[str, list[str]]] = [(f"application.yaml   (sync-wave: {i})", [])]
        if s.values_file:
            children.append(("values.yaml", []))
        if s.manifests:
            children.append(("manifests/", [p.rsplit("/", 1)[-1] for p in s.manifests]))
        lines.append(f"{branch} {s.component}/")
        for j, (child, files) in enumerate(children):
            last = j == len(children) - 1
            lines.append(f"{stem}{'└──' if last else '├──'} {child}")
            inner = stem + ("    " if last else "│   ")
            lines += [f"{inner}{'└──' if k == len(files) - 1 else '├──'} {f}" for k, f in enumerate(files)]
    lines += [
        "```",
        "",
        "## Customization",
        "",
        "Edit `<component>/values.yaml` (or a file under `<component>/manifests/`) and push; Argo CD",
        "applies the change on its next sync.",
        "",
        "## Disabling a Component",
        "",
        "- When generating the bundle: `eidos-cli bundle --disable <component>` (or",
        "  `--set <component>:enabled=false`) leaves the component out entirely — no Application,",
        "  values or manifests — and drops the values of other components that point at it.",
        "- After generating it: delete the `<component>/` directory and push. The parent prunes the",
        "  child Application, and its finalizer deletes everything it installed (chart, CRDs and",
        "  custom resources, extra manifests). Values of other components that point at it stay as",
        "  they are; regenerate the bundle with the option above to drop them too.",
        "",
        "## Troubleshooting",
        "",
        "```shell",
        f"argocd app get {PARENT_APP}",
        f"kubectl get applications -n {ARGOCD_NAMESPACE}",
        f"kubectl describe application <component> -n {ARGOCD_NAMESPACE}",
        *[f"kubectl get pods -n {ns}" for ns in dict.fromkeys(s.namespace for s in steps)],
        "```",
        "",
        "Verify the files are as generated: `sha256sum -c checksums.txt`.",
        "",
        "## References",
        "",
        "- Argo CD app of apps: https://argo-cd.readthedocs.io/en/stable/operator-manual/cluster-bootstrapping/",
        "- Sync waves: https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/",
        "- Application health check: https://argo-cd.readthedocs.io/en/stable/operator-manual/health/",
        "- Multiple sources: https://argo-cd.readthedocs.io/en/stable/user-guide/multiple_sources/",
        "",
    ]
    return "\n".join(lines)


def render_plan(recipe: Recipe, plan: InstallPlan, bundler_version: str, repo: str = "") -> dict[str, bytes]:
    """Every file of the bundle, relative path → content."""
    out: dict[str, bytes] = {}
    shared = plan_files(plan)
    for wave, step in enumerate(_enabled(plan)):
        directory = safe_name(step.component)
        # Compared without case: on macOS and Windows ``readme.md/`` and ``README.md`` collide.
        if directory.lower() in (f.lower() for f in TOP_LEVEL_FILES):
            raise InvalidRequestError(f"component name {step.component!r} clashes with the bundle file {directory}")
        out[f"{directory}/application.yaml"] = dump(application(step, wave, repo)).encode()
        if step.values_file:
            out[step.values_file] = shared[step.values_file]
        for path, data in step.manifests.items():
            out[path] = with_resource_waves(path, data)
    out[PLAN_FILE] = shared[PLAN_FILE]
    out["app-of-apps.yaml"] = dump(app_of_apps(repo)).encode()
    out[HEALTH_FILE] = health_file().encode()
    out["README.md"] = render_readme(recipe, plan, bundler_version).encode()
    out[CHECKSUMS_FILE] = checksums(out)
    return out


def summary_steps(output: str) -> tuple[str, ...]:
    return (
        "Push the generated files to your GitOps repository",
        f"kubectl patch configmap argocd-cm -n {ARGOCD_NAMESPACE} --type merge --patch-file {output}/{HEALTH_FILE}",
        f"kubectl apply -f {output}/app-of-apps.yaml",
    )


def notes(repo: str) -> tuple[str, ...]:
    return () if repo else ("Update app-of-apps.yaml with your repository URL before applying",)
