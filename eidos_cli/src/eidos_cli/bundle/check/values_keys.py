"""Values keys a bundle sets that its chart does not have (Helm ignores them without a word).

What a chart "has" at each level of its values:

* **the schema decides where it decides** (``values.schema.json``): ``additionalProperties:
  false`` closes an object to its ``properties``; an ``additionalProperties`` schema or ``true``,
  or ``patternProperties``, opens it (a map the chart iterates over);
* **elsewhere the defaults decide** (``values.yaml``): the keys of a non-empty default mapping
  (plus any the schema documents) are the known keys; a default that is an empty map ``{}`` or
  ``null`` is a slot the chart passes through (``resources: {}``, ``nodeSelector: {}``) and is
  open; a list or scalar default is not descended into (lists are replaced whole);
* keys named like Kubernetes' own free-form string maps (``*annotations``, ``*labels``,
  ``nodeSelector``) are open whatever their default holds, because Kubernetes defines them so;
* a dependency's name or alias at the chart's top level is checked against that subchart's
  values (its defaults merged with the parent's defaults under that key), plus its condition
  (``enabled``); ``global`` is allowed at every chart's top level;
* a key whose full path the chart's own templates read (``.Values.dcgmExporter.config.name``)
  is known even where ``values.yaml`` leaves it out or only mentions it in a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

FREE_FORM_SUFFIXES = ("annotations", "labels", "nodeselector")


@dataclass(frozen=True)
class ChartValues:
    """What bundle check knows of one chart's values (and its subcharts', by name or alias)."""

    name: str
    defaults: Mapping[str, Any]
    schema: Mapping[str, Any] | None = None
    subcharts: Mapping[str, ChartValues] = field(default_factory=dict)
    conditions: frozenset[str] = frozenset()  # dotted values paths from Chart.yaml conditions/tags
    template_paths: frozenset[str] = frozenset()  # dotted paths the templates read, and their prefixes


@dataclass(frozen=True)
class UnknownKey:
    path: str
    message: str


def key_path(parts: tuple[str, ...]) -> str:
    """``driver.version``; keys that hold a dot are bracketed: ``podAnnotations["a.b/c"]``."""
    out = ""
    for part in parts:
        out += f'["{part}"]' if "." in part or not part else (f".{part}" if out else part)
    return out


def _resolve(schema: Mapping[str, Any] | None, root: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The schema node with local ``$ref`` followed and allOf/anyOf/oneOf flattened."""
    out: list[Mapping[str, Any]] = []
    stack = [schema] if isinstance(schema, Mapping) else []
    seen = 0
    while stack and seen < 64:  # refs may cycle; 64 nodes is far past any chart's nesting
        node = stack.pop()
        seen += 1
        if not isinstance(node, Mapping):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and root is not None:
            target: Any = root
            for part in ref[2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, Mapping) else None
            stack.append(target)
        out.append(node)
        for combinator in ("allOf", "anyOf", "oneOf"):
            branches = node.get(combinator)
            if isinstance(branches, list):
                stack.extend(branches)
    return out


@dataclass(frozen=True)
class _Level:
    known: frozenset[str]
    open: bool
    children: Mapping[str, list[Mapping[str, Any]]]  # key → schema nodes for the child


def _level(defaults: Any, schemas: list[Mapping[str, Any]], root: Mapping[str, Any] | None) -> _Level:
    known: set[str] = set(defaults) if isinstance(defaults, Mapping) else set()
    children: dict[str, list[Mapping[str, Any]]] = {}
    closed_by_schema = opened_by_schema = False
    for node in schemas:
        props = node.get("properties")
        if isinstance(props, Mapping):
            for k, sub in props.items():
                known.add(str(k))
                children.setdefault(str(k), []).extend(_resolve(sub, root))
        additional = node.get("additionalProperties")
        if additional is False:
            closed_by_schema = True
        elif additional is True or isinstance(additional, Mapping) or node.get("patternProperties"):
            opened_by_schema = True
    if closed_by_schema:
        return _Level(frozenset(known), False, children)
    if opened_by_schema:
        return _Level(frozenset(known), True, children)
    # The schema (if any) is silent here: an empty or null default is an open slot.
    slot = defaults is None or (isinstance(defaults, Mapping) and not defaults)
    documented = bool(known)
    return _Level(frozenset(known), slot and not documented, children)


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v)
        return out
    return over if over is not None else base


def _walk(
    values: Mapping[str, Any],
    defaults: Any,
    schemas: list[Mapping[str, Any]],
    chart: ChartValues,
    prefix: tuple[str, ...],
    chart_prefix: tuple[str, ...],
) -> Iterator[UnknownKey]:
    level = _level(defaults, schemas, chart.schema)
    at_top = len(prefix) == len(chart_prefix)
    for raw_key, value in values.items():
        key = str(raw_key)
        path = (*prefix, key)
        rel = key_path(path[len(chart_prefix) :])
        if at_top and key == "global":
            continue  # shared by every chart of the release; charts read what they use
        if at_top and key in chart.subcharts:
            sub = chart.subcharts[key]
            if isinstance(value, Mapping):
                sub_defaults = _merge(sub.defaults, defaults.get(key) if isinstance(defaults, Mapping) else None)
                sub_chart = ChartValues(
                    sub.name,
                    sub_defaults,
                    sub.schema,
                    sub.subcharts,
                    sub.conditions | {c[len(key) + 1 :] for c in chart.conditions if c.startswith(key + ".")},
                    sub.template_paths,
                )
                yield from _walk(value, sub_defaults, _resolve(sub.schema, sub.schema), sub_chart, path, path)
            continue
        if rel in chart.conditions:
            continue
        if rel in chart.template_paths and key not in level.known:
            continue  # read by a template, documented (if at all) in a comment: its shape is the template's
        if key.lower().endswith(FREE_FORM_SUFFIXES):
            continue
        if key not in level.known:
            if not level.open:
                where = f"{chart.name} chart" + (
                    f" under {key_path(path[len(chart_prefix) : -1])}" if rel != key else ""
                )
                yield UnknownKey(key_path(path), f"the {where} has no value {key!r}; Helm ignores it")
            continue
        if isinstance(value, Mapping):
            child_defaults = defaults.get(key) if isinstance(defaults, Mapping) else None
            child_schemas = level.children.get(key, [])
            if child_defaults is not None and not isinstance(child_defaults, Mapping) and not child_schemas:
                continue  # the chart has a list or scalar here; its templates decide what a map means
            yield from _walk(value, child_defaults, child_schemas, chart, path, chart_prefix)


def unknown_keys(values: Mapping[str, Any], chart: ChartValues) -> list[UnknownKey]:
    """Every key path in ``values`` that ``chart`` (and its subcharts) does not have."""
    return list(_walk(values, chart.defaults, _resolve(chart.schema, chart.schema), chart, (), ()))


def template_paths(texts: list[str]) -> frozenset[str]:
    """Every ``.Values.a.b.c`` path (and its prefixes ``a``, ``a.b``) the template texts read."""
    out: set[str] = set()
    for text in texts:
        for match in _VALUES_REF.finditer(text):
            parts = match.group(1).strip(".").split(".")
            out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return frozenset(out)


_VALUES_REF = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
