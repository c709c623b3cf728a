"""Rendered objects against a Kubernetes version's schema (built-in kinds) or their CRD's
``openAPIV3Schema`` (custom resources).

Built-in kinds use kubernetes-validate in strict mode (unknown fields are errors, as
kube-apiserver's strict field validation makes them). A CRD's structural schema is turned into
JSON Schema the way kube-apiserver reads it: ``nullable`` admits null,
``x-kubernetes-int-or-string`` admits both, ``x-kubernetes-preserve-unknown-fields`` keeps an
object open, and any other object with ``properties`` is closed (kube-apiserver prunes unknown
fields, so a misspelt field in a custom resource is silently dropped like an unknown value).
``metadata``, ``apiVersion`` and ``kind`` are the API server's own and are not checked here.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
from kubernetes_validate import utils as kv_utils

from eidos_cli.bundle.check.cache import FORMAT, CheckCache, digest
from eidos_cli.bundle.check.objects import BUILTIN_GROUPS, CrdInfo, Rendered
from eidos_cli.bundle.check.report import SCHEMA, Finding
from eidos_core.errors import InvalidRequestError

# kubernetes-validate re-reads its schema files (megabytes of JSON for the shared definitions)
# on every call; they never change within a process, so read each once.
if not hasattr(kv_utils.schema_contents, "cache_info"):
    kv_utils.schema_contents = functools.cache(kv_utils.schema_contents)

MAX_ERRORS_PER_OBJECT = 5
# Part of the builtin-schema cache key: another kubernetes-validate has other schemas.
_VALIDATOR = f"kubernetes-validate {importlib.metadata.version('kubernetes-validate')}"


def known_versions() -> list[str]:
    """Kubernetes minor versions kubernetes-validate has schemas for, oldest first."""
    pairs = sorted({tuple(int(p) for p in v.split(".")[:2]) for v in kv_utils.all_versions()})
    return [f"{a}.{b}" for a, b in pairs]


def check_version(text: str) -> str:
    """``1.33`` / ``v1.33.2`` → ``1.33.0``; exit 2 for a version kubernetes-validate does not know."""
    parts = text.strip().removeprefix("v").split(".")
    known = known_versions()
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]) or f"{parts[0]}.{parts[1]}" not in known:
        raise InvalidRequestError(
            f"invalid --kubernetes-version value: {text!r}: known versions are {known[0]} to {known[-1]}"
        )
    return f"{int(parts[0])}.{int(parts[1])}.0"


def _where(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path)


def builtin_problems(obj: Mapping[str, Any], version: str) -> list[str]:
    try:
        kubernetes_validate.validate(dict(obj), version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{obj.get('kind')} {obj.get('apiVersion')} does not exist in Kubernetes {version}"]
    except kubernetes_validate.ValidationError as exc:
        return [f"at {_where(exc.absolute_path)}: {exc.message}"]
    return []


def structural_to_jsonschema(node: Any) -> Any:
    """A CRD's openAPIV3Schema node as JSON Schema with kube-apiserver's reading of it."""
    if isinstance(node, list):
        return [structural_to_jsonschema(n) for n in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = (
                {k: structural_to_jsonschema(v) for k, v in value.items()} if isinstance(value, Mapping) else value
            )
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = structural_to_jsonschema(value)
        elif key == "format" or key.startswith("x-") or key in ("nullable", "description", "example", "default"):
            continue  # formats are advisory here; defaults are applied by the server, not checked
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    open_object = node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-embedded-resource")
    if "properties" in out and "additionalProperties" not in out and not open_object:
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    return out


class _Frozen:
    """Hashable wrapper so a schema mapping can ride through lru_cache by identity."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Frozen) and other.value is self.value


def admit(value: Any, schema: Any) -> Any:
    """What kube-apiserver makes of a custom resource before validating it: null in a field that
    is not ``nullable`` is dropped, then the schema's ``default`` fills absent fields."""
    if not isinstance(schema, Mapping):
        return value
    if isinstance(value, Mapping):
        props_field = schema.get("properties")
        props: Mapping[str, Any] = props_field if isinstance(props_field, Mapping) else {}
        extra = schema.get("additionalProperties")
        out: dict[str, Any] = {}
        for k, v in value.items():
            sub = props.get(k, extra if isinstance(extra, Mapping) else None)
            if v is None and not (isinstance(sub, Mapping) and sub.get("nullable")):
                continue
            out[k] = admit(v, sub)
        for k, sub in props.items():
            if k not in out and isinstance(sub, Mapping) and "default" in sub:
                out[k] = admit(sub["default"], sub)
        return out
    if isinstance(value, list):
        return [admit(v, schema.get("items")) for v in value]
    return value


def custom_problems(obj: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    validator = _custom_validator(_Frozen(schema))
    body = {k: v for k, v in admit(obj, schema).items() if k not in ("metadata", "apiVersion", "kind")}
    errors: Iterator[Any] = validator.iter_errors(body)
    out = []
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        out.append(f"at {_where(error.absolute_path)}: {error.message}")
        if len(out) == MAX_ERRORS_PER_OBJECT:
            break
    return out


@functools.lru_cache(maxsize=256)
def _custom_validator(schema: _Frozen) -> Any:
    converted = structural_to_jsonschema(schema.value)
    props = converted.get("properties")
    if isinstance(props, dict):
        for own in ("metadata", "apiVersion", "kind"):
            props.pop(own, None)
    return jsonschema.Draft202012Validator(converted)


def _valid_problems(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(problems, list) and all(isinstance(p, str) for p in problems) for problems in value
    )


def _builtin_problems_by_step(objects: list[Rendered], version: str, cache: CheckCache | None) -> dict[int, list[str]]:
    """id(object) → kubernetes-validate's problems, for every built-in object; each step's
    object set looked up in ``cache`` as one entry (most bundles share most steps)."""
    by_step: dict[int, list[Rendered]] = {}
    for item in objects:
        if item.kind and item.group in BUILTIN_GROUPS:
            by_step.setdefault(item.step, []).append(item)
    out: dict[int, list[str]] = {}
    for items in by_step.values():
        key = ""
        problems: Any = None
        if cache is not None:
            key = digest(
                {"format": FORMAT, "kube": version, "validator": _VALIDATOR, "objects": [i.obj for i in items]}
            )
            problems = cache.get("builtin-schema", key, _valid_problems)
            if problems is not None and len(problems) != len(items):
                problems = None
        if problems is None:
            problems = [builtin_problems(i.obj, version) for i in items]
            if cache is not None:
                cache.put("builtin-schema", key, problems)
        for item, found in zip(items, problems, strict=True):
            out[id(item)] = found
    return out


def schema_findings(
    objects: list[Rendered], crds: Mapping[tuple[str, str], CrdInfo], version: str, cache: CheckCache | None = None
) -> list[Finding]:
    builtin = _builtin_problems_by_step(objects, version, cache)
    findings = []
    for item in objects:
        if not item.kind:
            findings.append(Finding(item.component, item.source, "-", SCHEMA, "an object without kind"))
            continue
        if item.group in BUILTIN_GROUPS:
            problems = builtin[id(item)]
        else:
            crd = crds.get((item.group, item.kind))
            schema = crd.versions.get(item.version) if crd else None
            if schema is None:
                continue  # no CRD (reported as missing-crd) or a CRD without a schema
            problems = custom_problems(item.obj, schema)
        findings += [Finding(item.component, item.source, item.label(), SCHEMA, p) for p in problems]
    return findings
