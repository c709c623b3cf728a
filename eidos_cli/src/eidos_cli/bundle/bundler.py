"""The bundle pipeline and the deployment summary printed after it.

``render_bundle`` is pure: recipe + recipe data + options → relative path → bytes. Everything
that can be wrong with the input (names, ``--set`` keys, missing files) fails here, before a
single byte is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eidos_cli.bundle import DEPLOYERS, HELM, TITLES, argocd, helm
from eidos_cli.bundle.checksums import CHECKSUMS_FILE, checksums
from eidos_cli.bundle.overrides import check_keys
from eidos_cli.bundle.paths import RECIPE_FILE, check_relative, safe_name
from eidos_cli.bundle.plan import BundleOptions, InstallPlan, build_plan, plan_files
from eidos_cli.bundle.yamlout import dump
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import Recipe, RecipeStore

__all__ = ["Bundle", "BundleOptions", "parse_deployer", "render_bundle", "summary"]


def parse_deployer(text: str | None) -> str:
    """``helm`` or ``argocd``, any case, surrounding spaces ignored; empty means helm."""
    value = (text or "").strip().lower() or HELM
    if value not in DEPLOYERS:
        raise InvalidRequestError(
            f"invalid --deployer value: invalid deployer type {text!r}: must be one of [{' '.join(DEPLOYERS)}]"
        )
    return value


@dataclass(frozen=True, slots=True)
class Bundle:
    deployer: str
    files: Mapping[str, bytes]
    notes: tuple[str, ...] = ()
    plan: InstallPlan | None = None

    @property
    def title(self) -> str:
        return TITLES[self.deployer]

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())

    def steps(self, output: str) -> tuple[str, ...]:
        return helm.summary_steps(output) if self.deployer == HELM else argocd.summary_steps(output)


def _check_top_level(plan: InstallPlan, top_level: tuple[str, ...]) -> None:
    # Compared without case: on macOS and Windows ``readme.md/`` and ``README.md`` collide.
    taken = {f.lower() for f in top_level}
    for step in plan.steps:
        if step.component.lower() in taken:
            raise InvalidRequestError(
                f"component name {step.component!r} clashes with the bundle file {step.component}"
            )


def render_bundle(recipe: Recipe, store: RecipeStore, options: BundleOptions | None = None) -> Bundle:
    """Every file of the bundle. ``store`` supplies values files, manifests and the registry."""
    options = options or BundleOptions()
    deployer = parse_deployer(options.deployer)
    if not recipe.component_refs:
        raise InvalidRequestError("recipe must contain at least one component reference")
    names = [safe_name(ref.name) for ref in recipe.component_refs]
    check_keys(options.overrides, names, store.registry)
    plan = build_plan(recipe, store, options)
    files: dict[str, bytes]
    if deployer == HELM:
        _check_top_level(plan, helm.TOP_LEVEL_FILES)
        files = {**plan_files(plan), **helm.render(recipe, plan, options.bundler_version)}
        notes = helm.notes(plan)
    else:
        files = dict(argocd.render_plan(recipe, plan, options.bundler_version, options.repo))
        notes = (*plan.notes, *argocd.notes(options.repo))
    files[RECIPE_FILE] = dump(recipe.to_document()).encode()
    # One place for checksums, after every other file: all of them, recipe.yaml included.
    files.pop(CHECKSUMS_FILE, None)
    for path in files:
        check_relative(path, what="bundle path")
    files[CHECKSUMS_FILE] = checksums(files)
    return Bundle(deployer=deployer, files=files, notes=notes, plan=plan)


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
