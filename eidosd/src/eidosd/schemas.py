"""marshmallow schemas of the HTTP API, used to document it (OpenAPI via aiohttp-apigami).

Requests are validated by eidos_core's criteria parser, so the API, the CLI and criteria
files reject bad values with the same words; these schemas describe, they do not parse. They
must describe exactly what that parser accepts (schemathesis checks both directions): the
string fields carry a pattern of every accepted spelling (aliases included, any case), ``nodes`` its bounds, and the
document fields say that ``null`` means absent. openapi.py adds what marshmallow cannot say
(empty query values, the nullable nested objects).
"""

from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

from eidos_core import API_VERSION
from eidos_core.recipe.criteria import ANY, CRITERIA_KIND, FIELDS, MAX_NODES, accepted, api_pattern

_DESCRIPTIONS = {
    "service": "Kubernetes service (self-managed, self, vanilla = any).",
    "accelerator": "GPU type.",
    "gpu": "Alias of accelerator (used when accelerator is absent or empty).",
    "intent": "Workload intent.",
    "os": "Node operating system (al2, al2023, amzn = amazonlinux).",
}
_NODES = "GPU node count; 0 = any."


def _one_of(field: str) -> str:
    return f" One of {', '.join(accepted(field))}; any ASCII case, blanks around it ignored."


def _query_enum(field: str, name: str) -> fields.String:
    # A pattern, not an enum: the API takes the values in any case (as the reference does), and
    # the document must say exactly what the server takes (schemathesis checks both directions).
    return fields.String(
        load_default=ANY,
        validate=validate.Regexp(api_pattern(field, empty=True)),
        metadata={"description": _DESCRIPTIONS[name] + _one_of(field) + " Empty = any.", "example": FIELDS[field][0]},
    )


def _spec_enum(field: str, name: str) -> fields.String:
    return fields.String(
        allow_none=True,  # null is "absent"
        validate=validate.Regexp(api_pattern(field, empty=False)),
        metadata={"description": _DESCRIPTIONS[name] + _one_of(field) + " null = any.", "example": FIELDS[field][0]},
    )


class CriteriaQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an unknown query parameter is a 400

    service = _query_enum("service", "service")
    accelerator = _query_enum("accelerator", "accelerator")
    gpu = _query_enum("accelerator", "gpu")
    intent = _query_enum("intent", "intent")
    os = _query_enum("os", "os")
    nodes = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_NODES),
        metadata={"description": _NODES + " Decimal digits (leading + allowed); empty = any."},
    )


class CriteriaSpecSchema(Schema):
    class Meta:
        unknown = RAISE

    service = _spec_enum("service", "service")
    accelerator = _spec_enum("accelerator", "accelerator")
    gpu = _spec_enum("accelerator", "gpu")
    intent = _spec_enum("intent", "intent")
    os = _spec_enum("os", "os")
    nodes = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_NODES),
        metadata={"description": _NODES + " A JSON/YAML integer; null = any."},
    )


class CriteriaMetadataSchema(Schema):
    class Meta:
        unknown = INCLUDE  # metadata is ignored, whatever it holds

    name = fields.Raw(metadata={"description": "Ignored."})


class RecipeCriteriaSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(
        allow_none=True, validate=validate.OneOf((CRITERIA_KIND, None)), metadata={"example": CRITERIA_KIND}
    )
    apiVersion = fields.String(
        allow_none=True, validate=validate.OneOf((API_VERSION, None)), metadata={"example": API_VERSION}
    )
    metadata = fields.Nested(CriteriaMetadataSchema, metadata={"x-eidos-nullable": True})
    spec = fields.Nested(CriteriaSpecSchema, metadata={"x-eidos-nullable": True})


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
    service = fields.String(required=True, validate=validate.OneOf((*FIELDS["service"], ANY)))
    accelerator = fields.String(required=True, validate=validate.OneOf((*FIELDS["accelerator"], ANY)))
    intent = fields.String(required=True, validate=validate.OneOf((*FIELDS["intent"], ANY)))
    os = fields.String(required=True, validate=validate.OneOf((*FIELDS["os"], ANY)))
    nodes = fields.Integer(validate=validate.Range(min=1, max=MAX_NODES))


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
    namespace = fields.String(metadata={"description": "Install namespace; absent = the registry's."})


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
