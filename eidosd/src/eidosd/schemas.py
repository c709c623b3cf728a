"""marshmallow schemas of the HTTP API, used to document it (OpenAPI via aiohttp-apigami).

Requests are validated by eidos_core's criteria parser, so the API, the CLI and criteria
files reject bad values with the same words; these schemas describe, they do not parse.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from eidos_core import API_VERSION
from eidos_core.recipe.criteria import ACCELERATORS, ANY, INTENTS, OS_TYPES, SERVICES


def _enum(values: tuple[str, ...], description: str) -> fields.String:
    return fields.String(
        load_default=ANY,
        validate=validate.OneOf((*values, ANY)),
        metadata={"description": description, "example": values[0]},
    )


class CriteriaQuerySchema(Schema):
    service = _enum(SERVICES, "Kubernetes service (aliases: self-managed, self, vanilla = any).")
    accelerator = _enum(ACCELERATORS, "GPU type.")
    gpu = _enum(ACCELERATORS, "Alias of accelerator (used when accelerator is absent).")
    intent = _enum(INTENTS, "Workload intent.")
    os = _enum(OS_TYPES, "Node operating system (aliases: al2, al2023, amzn = amazonlinux).")
    nodes = fields.Integer(
        load_default=0, validate=validate.Range(min=0), metadata={"description": "GPU node count; 0 = any."}
    )


class CriteriaSpecSchema(CriteriaQuerySchema):
    pass


class CriteriaMetadataSchema(Schema):
    name = fields.String(metadata={"description": "Ignored."})


class RecipeCriteriaSchema(Schema):
    kind = fields.String(validate=validate.Equal("recipeCriteria"), metadata={"example": "recipeCriteria"})
    apiVersion = fields.String(validate=validate.Equal(API_VERSION), metadata={"example": API_VERSION})
    metadata = fields.Nested(CriteriaMetadataSchema)
    spec = fields.Nested(CriteriaSpecSchema)


class ConstraintSchema(Schema):
    name = fields.String(required=True, metadata={"example": "K8s.server.version"})
    value = fields.String(required=True, metadata={"example": ">= 1.30"})


class ConstraintWarningSchema(Schema):
    overlay = fields.String(required=True)
    constraint = fields.String(required=True)
    expected = fields.String(required=True)
    actual = fields.String()
    reason = fields.String(required=True)


class ResultMetadataSchema(Schema):
    version = fields.String(metadata={"description": "Version of the producer (eidosd)."})
    appliedOverlays = fields.List(fields.String(), metadata={"description": "Overlays in merge order."})
    excludedOverlays = fields.List(fields.String())
    constraintWarnings = fields.List(fields.Nested(ConstraintWarningSchema))


class ResultCriteriaSchema(Schema):
    service = fields.String(required=True, validate=validate.OneOf((*SERVICES, ANY)))
    accelerator = fields.String(required=True, validate=validate.OneOf((*ACCELERATORS, ANY)))
    intent = fields.String(required=True, validate=validate.OneOf((*INTENTS, ANY)))
    os = fields.String(required=True, validate=validate.OneOf((*OS_TYPES, ANY)))
    nodes = fields.Integer(validate=validate.Range(min=1))


class ComponentRefSchema(Schema):
    name = fields.String(required=True)
    type = fields.String(required=True, metadata={"description": "Helm or Kustomize."})
    source = fields.String(required=True, metadata={"description": "Helm repository, OCI reference or Git URL."})
    version = fields.String()
    tag = fields.String()
    valuesFile = fields.String()
    overrides = fields.Dict(keys=fields.String(), metadata={"description": "Inline Helm values."})
    patches = fields.List(fields.String())
    dependencyRefs = fields.List(fields.String())
    manifestFiles = fields.List(fields.String())
    path = fields.String()


class RecipeResultSchema(Schema):
    kind = fields.String(required=True, validate=validate.Equal("recipeResult"))
    apiVersion = fields.String(required=True, validate=validate.Equal(API_VERSION))
    metadata = fields.Nested(ResultMetadataSchema, required=True)
    criteria = fields.Nested(ResultCriteriaSchema, required=True)
    constraints = fields.List(fields.Nested(ConstraintSchema))
    componentRefs = fields.List(fields.Nested(ComponentRefSchema), required=True)
    deploymentOrder = fields.List(fields.String(), required=True)


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"example": "INVALID_REQUEST"})
    message = fields.String(required=True)
    details = fields.Dict(keys=fields.String())
    requestId = fields.String(required=True)
    timestamp = fields.String(required=True, metadata={"description": "RFC 3339, UTC."})
    retryable = fields.Boolean(required=True)


class ServiceInfoSchema(Schema):
    service = fields.String(required=True, metadata={"example": "eidosd"})
    version = fields.String(required=True)
    routes = fields.List(fields.String(), required=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"example": "ready"})
    recipeVersion = fields.String()
    recipeSource = fields.String()
    reason = fields.String()
