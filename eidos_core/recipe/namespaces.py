"""The namespace plan and the values that point at components (registry ``valueReferences``).

One implementation for the bundle (eidos_cli.bundle.plan, which installs each component in its
namespace) and the query (eidos_core.recipe.query, whose values are the bundle's before ``--set``):

* a component's namespace is the recipe's ``namespace`` on its componentRef, else the
  registry's ``namespace``, else the component name; it must be a DNS-1123 label;
* each ``valueReferences`` path of a component is set to its value with ``{namespace}``,
  ``{release}`` and ``{component}`` of the target filled in, or removed (``None``) when the
  target is not among the components planned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import ComponentRef, Registry, is_dns_label

__all__ = ["Reference", "namespace_of", "namespace_plan", "value_references"]


@dataclass(frozen=True, slots=True)
class Reference:
    """A value of ``component`` at ``path`` that points at ``target``."""

    component: str
    path: str
    target: str


def namespace_of(component: str, registry: Registry, override: str = "") -> str:
    """The namespace plan for one component: the recipe's override, else the registry's (default:
    the component name)."""
    comp = registry.get(component)
    namespace = override or (comp.namespace if comp and comp.namespace else component)
    if not is_dns_label(namespace):
        raise InvalidRequestError(
            f"component {component!r} has no usable namespace: {namespace!r} is not a DNS-1123 label "
            "(lowercase letters, digits and '-'); give it a `namespace` in the registry",
            details={"component": component, "namespace": namespace},
        )
    return namespace


def namespace_plan(refs: Sequence[ComponentRef], registry: Registry) -> dict[str, str]:
    """Each component's namespace, by component name."""
    return {ref.name: namespace_of(ref.name, registry, ref.namespace) for ref in refs}


def value_references(
    refs: Sequence[ComponentRef], registry: Registry, namespaces: Mapping[str, str]
) -> tuple[dict[str, dict[str, str | None]], list[Reference], list[str]]:
    """Per component, path → value computed from the plan (``None``: remove it, the target is
    not in ``namespaces``); the references kept; notes on those removed."""
    out: dict[str, dict[str, str | None]] = {}
    kept: list[Reference] = []
    notes: list[str] = []
    for ref in refs:
        comp = registry.get(ref.name)
        if comp is None or not comp.value_references:
            continue
        paths: dict[str, str | None] = {}
        for item in comp.value_references:
            target = item.component or ref.name
            if target not in namespaces:
                paths[item.path] = None
                notes.append(
                    f"{ref.name}: {item.path} left unset: it points at {target}, which is not in this bundle "
                    f"(set it with --set {ref.name}:{item.path}=...)"
                )
                continue
            paths[item.path] = (
                item.value.replace("{namespace}", namespaces[target])
                .replace("{release}", target)
                .replace("{component}", target)
            )
            if target != ref.name:
                kept.append(Reference(component=ref.name, path=item.path, target=target))
        out[ref.name] = paths
    return out, kept, notes
