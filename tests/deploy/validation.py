"""Schema validation of rendered objects.

Built-in kinds are validated with kubernetes-validate (strict: unknown fields are errors) for
every Kubernetes minor version from 1.30 to the newest the package knows. The custom resources
we ship (Prometheus Operator, VPA) have no schema there, so each one is checked against a
schema written here: the subset of its CRD's OpenAPI schema that our objects use, with the
CRD's required fields, enums and duration patterns, and no unknown fields at the levels we set.
An object of any other kind fails: nothing is skipped silently.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
from kubernetes_validate import utils as kv_utils

# kubernetes-validate re-reads its schema files (the shared definitions are megabytes of JSON) on
# every call; the files never change, so read each once. Validation itself is untouched.
kv_utils.schema_contents = functools.cache(kv_utils.schema_contents)

MIN_VERSION = (1, 30)

# Prometheus duration syntax as the Prometheus Operator CRDs define it.
_DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_QUANTITY = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": _STRINGS,
                   "annotations": _STRINGS},
    "additionalProperties": False,
}  # fmt: skip


def _resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": spec,
        },
        "additionalProperties": False,
    }


SERVICE_MONITOR = _resource(
    "monitoring.coreos.com/v1",
    "ServiceMonitor",
    {
        "type": "object",
        "required": ["selector", "endpoints"],  # the CRD requires selector; no endpoints = nothing scraped
        "properties": {
            "jobLabel": {"type": "string"},
            "selector": {
                "type": "object",
                "properties": {"matchLabels": _STRINGS, "matchExpressions": {"type": "array"}},
                "additionalProperties": False,
            },
            "namespaceSelector": {
                "type": "object",
                "properties": {
                    "any": {"type": "boolean"},
                    "matchNames": {"type": "array", "items": {"type": "string"}},
                },
                "additionalProperties": False,
            },
            "endpoints": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "port": {"type": "string"},
                        "path": {"type": "string"},
                        "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                        "interval": {"type": "string", "pattern": _DURATION},
                        "scrapeTimeout": {"type": "string", "pattern": _DURATION},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
)

PROMETHEUS_RULE = _resource(
    "monitoring.coreos.com/v1",
    "PrometheusRule",
    {
        "type": "object",
        "required": ["groups"],
        "properties": {
            "groups": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["name", "rules"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "interval": {"type": "string", "pattern": _DURATION},
                        "rules": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["expr"],
                                "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                                "properties": {
                                    "alert": {"type": "string", "minLength": 1},
                                    "record": {"type": "string", "minLength": 1},
                                    "expr": {"type": "string", "minLength": 1},
                                    "for": {"type": "string", "pattern": _DURATION},
                                    "keep_firing_for": {"type": "string", "pattern": _DURATION},
                                    "labels": _STRINGS,
                                    "annotations": _STRINGS,
                                },
                                "additionalProperties": False,
                            },
                        },
                    },
                    "additionalProperties": False,
                },
            }
        },
        "additionalProperties": False,
    },
)

VERTICAL_POD_AUTOSCALER = _resource(
    "autoscaling.k8s.io/v1",
    "VerticalPodAutoscaler",
    {
        "type": "object",
        "required": ["targetRef"],
        "properties": {
            "targetRef": {
                "type": "object",
                "required": ["kind", "name"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "name": {"type": "string"},
                },
                "additionalProperties": False,
            },
            "updatePolicy": {
                "type": "object",
                "properties": {
                    "updateMode": {"enum": ["Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto"]},
                    "minReplicas": {"type": "integer"},
                },
                "additionalProperties": False,
            },
            "resourcePolicy": {
                "type": "object",
                "properties": {
                    "containerPolicies": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "containerName": {"type": "string"},
                                "mode": {"enum": ["Auto", "Off"]},
                                "controlledResources": {"type": "array", "items": {"enum": ["cpu", "memory"]}},
                                "controlledValues": {"enum": ["RequestsAndLimits", "RequestsOnly"]},
                                "minAllowed": {"type": "object", "additionalProperties": _QUANTITY},
                                "maxAllowed": {"type": "object", "additionalProperties": _QUANTITY},
                            },
                            "additionalProperties": False,
                        },
                    }
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
)

CRD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
    ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE,
    ("autoscaling.k8s.io/v1", "VerticalPodAutoscaler"): VERTICAL_POD_AUTOSCALER,
}


def kubernetes_versions() -> list[str]:
    """Every minor version from 1.30 up that kubernetes-validate has schemas for."""
    versions = sorted(
        {tuple(int(p) for p in v.split(".")[:2]) for v in kv_utils.all_versions()}  # e.g. "1.31.0"
    )
    chosen = [f"{major}.{minor}.0" for major, minor in versions if (major, minor) >= MIN_VERSION]
    assert chosen, f"kubernetes-validate {kubernetes_validate.version.__version__} knows no version >= 1.30"
    return chosen


def kubernetes_validate_version() -> str:
    return str(kubernetes_validate.version.__version__)


def _builtin_problems(obj: dict[str, Any], version: str) -> str | None:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return "no built-in schema"
    except kubernetes_validate.ValidationError as exc:
        # a jsonschema.ValidationError: message and path, without the (huge) schema dump
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"invalid for Kubernetes {version} at /{where}: {exc.message}"
    return None


_VALID: set[str] = set()  # objects (as canonical JSON) already found valid in this session


def validate_objects(objs: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Validate each distinct object; return how many were checked by which means.

    Raises AssertionError listing every problem (not just the first).
    """
    seen: set[str] = set()
    problems: list[str] = []
    counts = {"built-in": 0, "crd": 0}
    versions = kubernetes_versions()
    for obj in objs:
        key = json.dumps(obj, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        known_valid = key in _VALID
        label = f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}"
        crd_schema = CRD_SCHEMAS.get((obj.get("apiVersion", ""), obj.get("kind", "")))
        if crd_schema is not None:
            errors = sorted(jsonschema.Draft7Validator(crd_schema).iter_errors(obj), key=lambda e: list(e.path))
            problems += [f"{label}: /{'/'.join(map(str, e.path))}: {e.message}" for e in errors]
            counts["crd"] += 1
            continue
        counts["built-in"] += 1
        if known_valid:
            continue
        for version in versions:
            problem = _builtin_problems(obj, version)
            if problem is not None:
                problems.append(f"{label}: {problem}")
                break
        else:
            _VALID.add(key)
    assert not problems, "rendered objects fail validation:\n" + "\n".join(problems)
    return counts
