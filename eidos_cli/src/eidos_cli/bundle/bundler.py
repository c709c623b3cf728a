"""The bundle pipeline (cli-bundle.md §4.2) and the deployment summary (§7).

``render_bundle`` is pure: recipe + recipe data + options → relative path → bytes. Everything
that can be wrong with the input (names, ``--set`` keys, missing files) fails here, before a
single byte is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from eidos_cli.bundle import DEPLOYERS, HELM, TITLES, argocd, helm
from eidos_cli.bundle.overrides import SetOverride, check_keys
from eidos_cli.bundle.paths import check_relative, safe_name
from eidos_cli.bundle.scheduling import Scheduling
from eidos_cli.bundle.values import bundle_values
from eidos_core import __version__
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.document import RecipeDocument
from eidos_core.recipe.model import RecipeStore


def parse_deployer(text: str | None) -> str:
    """``helm`` or ``argocd``, any case, surrounding spaces ignored; empty means helm."""
    value = (text or "").strip().lower() or HELM
    if value not in DEPLOYERS:
        raise InvalidRequestError(
            f"invalid --deployer value: invalid deployer type {text!r}: must be one of [{' '.join(DEPLOYERS)}]"
        )
    return value


@dataclass(frozen=True, slots=True)
class BundleOptions:
    deployer: str = HELM
    repo: str = ""  # Git URL of the GitOps repository (argocd only)
    overrides: tuple[SetOverride, ...] = ()
    scheduling: Scheduling = field(default_factory=Scheduling)
    bundler_version: str = __version__


@dataclass(frozen=True, slots=True)
class Bundle:
    deployer: str
    files: Mapping[str, bytes]
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return TITLES[self.deployer]

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())

    def steps(self, output: str) -> tuple[str, ...]:
        return helm.summary_steps(output) if self.deployer == HELM else argocd.summary_steps(output)


def render_bundle(recipe: RecipeDocument, store: RecipeStore, options: BundleOptions | None = None) -> Bundle:
    """Every file of the bundle. ``store`` supplies values files, manifests and the registry."""
    options = options or BundleOptions()
    deployer = parse_deployer(options.deployer)
    if not recipe.component_refs:
        raise InvalidRequestError("recipe must contain at least one component reference")
    names = [safe_name(ref.name) for ref in recipe.component_refs]
    check_keys(options.overrides, names, store.registry)
    values = bundle_values(recipe.component_refs, store.files, store.registry, options.overrides, options.scheduling)
    if deployer == HELM:
        files = helm.render(recipe, values, store.files, store.registry, options.bundler_version)
        notes = helm.notes(recipe)
    else:
        files = argocd.render(recipe, values, store.registry, options.bundler_version, options.repo)
        notes = argocd.notes(options.repo)
    for path in files:
        check_relative(path, what="bundle path")
    return Bundle(deployer=deployer, files=files, notes=notes)


def summary(bundle: Bundle, output: str) -> str:
    """What ``bundle`` prints on stdout after writing to directory ``output`` (as given)."""
    lines = [
        "",
        f"{bundle.title} generated successfully!",
        f"Output directory: {output}",
        f"Files generated: {len(bundle.files)}",
    ]
    if bundle.notes:
        lines += ["", "Note:", *[f"  ⚠ {note}" for note in bundle.notes]]
    lines += ["", "To deploy:", *[f"  {i}. {step}" for i, step in enumerate(bundle.steps(output), 1)]]
    return "\n".join(lines) + "\n"
