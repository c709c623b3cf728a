"""The install plan: what a bundle installs, where, in which order — for both deployers.

``build_plan(recipe, store, options)`` is pure (recipe + recipe data + options → ``InstallPlan``)
and the one place that decides, for every component of a bundle:

* whether it is in the bundle: disabled at bundle time (``--disable C`` or
  ``--set C:enabled=false``) it is gone — its chart, its extra manifests, and values of other
  components that point at it (``registry valueReferences``);
* its namespace (the namespace plan, :mod:`eidos_core.recipe.namespaces`): the recipe's
  ``namespace`` on the componentRef, else the registry's ``namespace``, else the component
  name; a DNS-1123 label;
* its values (``values.bundle_values``), with references to other components computed from
  the namespace plan (``http://<release>-….<namespace>.svc``), never taken from values files;
* its extra manifests, rendered for that namespace (``manifests.render_template``): plain YAML,
  no templating left; a manifest whose condition renders nothing is left out;
* its position: ``deploymentOrder``, then components the order does not name, in recipe order.

``plan_files(plan)`` gives the files every bundle shares: ``install-plan.yaml``,
``<component>/values.yaml`` and ``<component>/manifests/<file>`` (paths relative to the
bundle root). The Helm layout (``helm``) turns the plan into ``deploy.sh``/``undeploy.sh``;
the Argo CD layout into Applications.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eidos_cli.bundle.manifests import has_objects, render_template
from eidos_cli.bundle.overrides import SetOverride, selector_keys
from eidos_cli.bundle.paths import check_relative, safe_name
from eidos_cli.bundle.scheduling import Scheduling
from eidos_cli.bundle.values import bundle_values
from eidos_cli.bundle.yamlout import dump, dump_values
from eidos_core import API_VERSION, __version__
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.model import KUSTOMIZE, ComponentRef, Recipe, RecipeStore, Registry
from eidos_core.recipe.namespaces import Reference, namespace_plan, value_references

PLAN_FILE = "install-plan.yaml"
PLAN_KIND = "InstallPlan"
HELM = "helm"
_RELEASE_MAX = 53  # Helm's limit on a release name


@dataclass(frozen=True, slots=True)
class BundleOptions:
    deployer: str = HELM
    repo: str = ""  # Git URL of the GitOps repository (argocd only)
    overrides: tuple[SetOverride, ...] = ()
    scheduling: Scheduling = field(default_factory=Scheduling)
    bundler_version: str = __version__
    disabled: tuple[str, ...] = ()  # component names or --set keys left out of the bundle


@dataclass(frozen=True, slots=True)
class Chart:
    repository: str
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class Kustomize:
    source: str
    path: str
    tag: str


@dataclass(frozen=True, slots=True)
class Step:
    component: str
    namespace: str
    chart: Chart | None
    kustomize: Kustomize | None
    values: Mapping[str, Any]  # Helm values (empty for Kustomize)
    manifests: Mapping[str, bytes]  # bundle-relative path → rendered YAML, in recipe order
    depends_on: tuple[str, ...]
    references: tuple[Reference, ...] = ()  # its values that point at other steps
    enabled: bool = True

    @property
    def values_file(self) -> str:
        """Bundle-relative path of the values file ('' for Kustomize components)."""
        return f"{self.component}/values.yaml" if self.chart is not None else ""


@dataclass(frozen=True, slots=True)
class InstallPlan:
    steps: tuple[Step, ...]
    disabled: tuple[str, ...] = ()  # components of the recipe disabled at bundle time
    notes: tuple[str, ...] = ()

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace the bundle installs into, in first-use order."""
        return tuple(dict.fromkeys(s.namespace for s in self.steps))

    def step(self, component: str) -> Step | None:
        return next((s for s in self.steps if s.component == component), None)


def ordered_refs(recipe: Recipe) -> list[ComponentRef]:
    """Components in ``deploymentOrder``, then any the order does not mention, in recipe order."""
    by_name = {r.name: r for r in recipe.component_refs}
    out: list[ComponentRef] = []
    seen: set[str] = set()
    for name in (*recipe.deployment_order, *by_name):
        if name in by_name and name not in seen:
            seen.add(name)
            out.append(by_name[name])
    return out


def disabled_components(
    recipe: Recipe, registry: Registry, options: BundleOptions
) -> tuple[tuple[str, ...], tuple[SetOverride, ...]]:
    """Components to leave out (recipe names, recipe order) and the ``--set`` entries left to
    apply: ``C:enabled=false`` disables C, ``C:enabled=true`` keeps it — neither is a value."""
    names = [r.name for r in recipe.component_refs]
    by_key: dict[str, str] = {}
    for name in names:
        for key in selector_keys(name, registry):
            by_key.setdefault(key, name)
    chosen: set[str] = set()
    for key in options.disabled:
        if key.strip() not in by_key:
            raise InvalidRequestError(
                f"invalid --disable value {key!r}: no such component in this recipe (components: {', '.join(names)})",
                details={"component": key},
            )
        chosen.add(by_key[key.strip()])
    rest: list[SetOverride] = []
    for item in options.overrides:
        if item.path == "enabled" and item.key in by_key:
            if item.value is False:
                chosen.add(by_key[item.key])
            elif item.value is not True:
                raise InvalidRequestError(f"invalid --set flag: {item.entry!r}: enabled must be true or false")
            continue
        rest.append(item)
    return tuple(n for n in names if n in chosen), tuple(rest)


def _release(ref: ComponentRef) -> str:
    name = safe_name(ref.name)
    if ref.type != KUSTOMIZE and (
        not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) or len(name) > _RELEASE_MAX
    ):
        raise InvalidRequestError(
            f"component name {name!r} cannot be a Helm release name (lowercase letters, digits, '-', '.', "
            f"at most {_RELEASE_MAX})",
            details={"component": name},
        )
    return name


def _manifests(
    ref: ComponentRef, files: Mapping[str, bytes], namespace: str, context_values: Mapping[str, Any]
) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for manifest in ref.manifest_files:
        check_relative(manifest, what="manifest path")
        target = f"{ref.name}/manifests/{manifest.rsplit('/', 1)[-1]}"
        if target in out:
            raise InvalidRequestError(
                f"component {ref.name} lists two manifests named {target.rsplit('/', 1)[-1]}; rename one",
                details={"component": ref.name, "file": manifest},
            )
        data = files.get(manifest)
        if data is None:
            raise NotFoundError(
                f"manifest {manifest} of component {ref.name} is not in the recipe data",
                details={"component": ref.name, "file": manifest},
            )
        context = {"Values": context_values, "Release": {"Namespace": namespace, "Name": ref.name}}
        try:
            text = render_template(data.decode("utf-8"), context, f"manifest {manifest} of component {ref.name}")
        except UnicodeDecodeError:
            raise InvalidRequestError(f"manifest {manifest} of component {ref.name} is not UTF-8 text") from None
        if has_objects(text):  # a manifest whose condition is false is left out, not shipped empty
            out[target] = (text.lstrip("\n").rstrip() + "\n").encode()
    return out


def build_plan(recipe: Recipe, store: RecipeStore, options: BundleOptions | None = None) -> InstallPlan:
    """The install plan of ``recipe`` (see the module docstring)."""
    options = options or BundleOptions()
    registry = store.registry
    if not recipe.component_refs:
        raise InvalidRequestError("recipe must contain at least one component reference")
    disabled, overrides = disabled_components(recipe, registry, options)
    refs = [r for r in ordered_refs(recipe) if r.name not in disabled]
    if not refs:
        raise InvalidRequestError("every component of the recipe is disabled: nothing to bundle")
    namespaces = namespace_plan(refs, registry)
    references, kept, notes = value_references(refs, registry, namespaces)
    helm_refs = [r for r in refs if r.type != KUSTOMIZE]
    values = bundle_values(helm_refs, store.files, registry, overrides, options.scheduling, references)
    # What manifests see as .Values: the old umbrella chart's values, component by component.
    context_values = {name: {"enabled": True, **v} for name, v in values.items()}
    steps = []
    for ref in refs:
        release = _release(ref)
        comp = registry.get(ref.name)
        chart = kustomize = None
        if ref.type == KUSTOMIZE:
            kustomize = Kustomize(
                source=ref.source or (comp.kustomize_source if comp else ""),
                path=ref.path or (comp.kustomize_path if comp else ""),
                tag=ref.tag or ref.version or (comp.kustomize_tag if comp else ""),
            )
        else:
            name = comp.helm_chart.rsplit("/", 1)[-1] if comp and comp.helm_chart else ref.name
            chart = Chart(
                repository=ref.source or (comp.helm_repository if comp else ""),
                name=safe_name(name, what=f"chart name of component {ref.name}"),
                version=ref.version or (comp.helm_version if comp else ""),
            )
        steps.append(
            Step(
                component=release,
                namespace=namespaces[ref.name],
                chart=chart,
                kustomize=kustomize,
                values=values.get(ref.name, {}),
                manifests=_manifests(ref, store.files, namespaces[ref.name], context_values),
                depends_on=tuple(d for d in ref.dependency_refs if d in namespaces),
                references=tuple(k for k in kept if k.component == ref.name),
            )
        )
    notes = [*(f"{name} is disabled: left out of the bundle" for name in disabled), *notes]
    return InstallPlan(steps=tuple(steps), disabled=disabled, notes=tuple(notes))


def plan_document(plan: InstallPlan) -> dict[str, Any]:
    steps = []
    for s in plan.steps:
        item: dict[str, Any] = {"component": s.component, "namespace": s.namespace, "enabled": s.enabled}
        if s.chart is not None:
            item["chart"] = {"repository": s.chart.repository, "name": s.chart.name, "version": s.chart.version}
            item["values"] = s.values_file
        if s.kustomize is not None:
            item["kustomize"] = {"source": s.kustomize.source, "path": s.kustomize.path, "tag": s.kustomize.tag}
        item["manifests"] = list(s.manifests)
        item["dependsOn"] = list(s.depends_on)
        steps.append(item)
    return {"apiVersion": API_VERSION, "kind": PLAN_KIND, "steps": steps}


def render_plan(plan: InstallPlan) -> bytes:
    header = (
        "# The install plan of this bundle, generated by eidos-cli bundle: one step per component,\n"
        "# in install order; each step is installed and ready before the next. Paths are relative\n"
        "# to the bundle root; manifests are plain YAML, applied after the step's chart, in its namespace.\n"
    )
    return (header + dump(plan_document(plan))).encode()


def values_file(values: Mapping[str, Any]) -> str:
    return "# Helm values for this component, generated by eidos-cli bundle\n" + dump_values(values)


def plan_files(plan: InstallPlan) -> dict[str, bytes]:
    """``install-plan.yaml``, every step's values file and rendered manifests."""
    out: dict[str, bytes] = {PLAN_FILE: render_plan(plan)}
    for s in plan.steps:
        if s.values_file:
            out[s.values_file] = values_file(s.values).encode()
        out.update(s.manifests)
    return out
