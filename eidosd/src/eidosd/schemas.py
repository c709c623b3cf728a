"""marshmallow schemas of the HTTP API, used to document it (OpenAPI via aiohttp-apigami).

The document schemas — ``RecipeResult`` (with ``ComponentRef``, ``Constraint``, the result's
criteria and metadata) and the ``RecipeCriteria`` request body — are derived from the same
declarations that read and write those documents (:mod:`eidos_core.codec`), so a field added
there is documented here without an edit: :func:`schema_for` turns a record's
:class:`~eidos_core.codec.Properties` into marshmallow classes (a plain property as a ``Raw``
field carrying its JSON schema, a nested record as ``Nested`` so it becomes a component).

Requests are validated by eidos_core's parsers, so the API, the CLI and criteria files reject
bad values with the same words; these schemas describe, they do not parse. They must describe
exactly what those parsers accept (schemathesis checks both directions): the string fields carry
a pattern of every accepted spelling (aliases included, any case), ``nodes`` its bounds, and the
document fields say that ``null`` means absent. openapi.py adds what marshmallow cannot say
(empty query values, the nullable nested objects).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp_apigami import response_schema
from marshmallow import INCLUDE, RAISE, Schema, fields, validate

from eidos_core.codec import Properties, record
from eidos_core.recipe.criteria import ANY, DESCRIPTIONS, FIELDS, MAX_NODES, CriteriaDocument, api_pattern, one_of
from eidos_core.recipe.model import Recipe
from eidos_core.recipe.query import MAX_SELECTOR_CHARS, SELECTOR_PATTERN

NULLABLE_REF = "x-eidos-nullable"  # field metadata: this nested object may also be null (openapi.clean)
_SCHEMAS: dict[str, type[Schema]] = {}


def _field(prop: Any) -> fields.Field:
    if prop.nested is None:
        return fields.Raw(required=prop.required, metadata=prop.fragment)
    inner = fields.Nested(schema_for(prop.nested))
    if prop.many:
        return fields.List(inner, required=prop.required, metadata=prop.fragment)
    metadata = {**prop.fragment, **({NULLABLE_REF: True} if prop.nullable else {})}
    return fields.Nested(schema_for(prop.nested), required=prop.required, metadata=metadata)


def schema_for(props: Properties) -> type[Schema]:
    """The marshmallow class of a declared record's JSON schema object (one class per name, so
    apispec makes it one component)."""
    found = _SCHEMAS.get(props.name)
    if found is None:

        class Base(Schema):
            class Meta:
                unknown = INCLUDE if props.open else RAISE

        found = _SCHEMAS[props.name] = Base.from_dict(
            {p.key: _field(p) for p in props.properties}, name=f"{props.name}Schema"
        )
    return found


RecipeResultSchema = schema_for(record(Recipe).properties(output=True))
RecipeCriteriaSchema = schema_for(record(CriteriaDocument).properties(output=False))


def _query_enum(field: str, name: str) -> fields.String:
    # A pattern, not an enum: the API takes the values in any case (as the reference does), and
    # the document must say exactly what the server takes (schemathesis checks both directions).
    return fields.String(
        load_default=ANY,
        validate=validate.Regexp(api_pattern(field, empty=True)),
        metadata={"description": DESCRIPTIONS[name] + one_of(field) + " Empty = any.", "example": FIELDS[field][0]},
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
        metadata={"description": DESCRIPTIONS["nodes"] + " Decimal digits (leading + allowed); empty = any."},
    )


def _selector_field() -> fields.String:
    # The pattern is exactly what eidos_core.recipe.query.parse_selector takes.
    return fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_SELECTOR_CHARS), validate.Regexp(SELECTOR_PATTERN)],
        metadata={
            "description": "Dot path into the recipe: componentRefs.<component>.<field or values path>, "
            "constraints.<constraint name>, deploymentOrder, ...",
            "example": "componentRefs.gpu-operator.version",
        },
    )


class QueryQuerySchema(CriteriaQuerySchema):
    """GET /v1/query: the criteria of GET /v1/recipe and the selector."""

    selector = _selector_field()


class SelectorQuerySchema(Schema):
    """POST /v1/query's query string: the selector alone (the criteria are the body)."""

    class Meta:
        unknown = RAISE

    selector = _selector_field()


# Any JSON value: a scalar (a version), a list (deploymentOrder) or a mapping (a values tree).
QUERY_ANSWER = {
    200: {
        "description": "The JSON value at the selector (ETag; 304 on If-None-Match).",
        "content": {"application/json": {"schema": {"nullable": True}, "example": "v26.7.0"}},
    }
}


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
    status = fields.String(required=True, validate=validate.OneOf(["healthy"]))
    timestamp = fields.String(required=True, metadata={"description": "RFC 3339, UTC"})


class ReadySchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ready", "not_ready"]))
    timestamp = fields.String(required=True, metadata={"description": "RFC 3339, UTC"})
    recipeVersion = fields.String()
    recipeSource = fields.String()
    reason = fields.String()


def _repeatable(description: str, example: str) -> fields.List:
    return fields.List(
        fields.String(),
        load_default=list,
        metadata={"description": description + " Repeatable; comma-separated values too.", "example": [example]},
    )


class BundleQuerySchema(Schema):
    """POST /v1/bundle's query parameters: ``eidos-cli bundle``'s flags, parsed by the CLI's own
    functions (eidosd.bundles)."""

    class Meta:
        unknown = RAISE  # an unknown query parameter is a 400

    deployer = fields.String(
        load_default="helm",
        validate=validate.Regexp(r"^\s*(?i:helm|argocd)?\s*$"),
        metadata={"description": "helm (releases installed in order by deploy.sh) or argocd (an app-of-apps); "
                  "any case; empty = helm.", "example": "helm"},
    )  # fmt: skip
    set = _repeatable("Override a value: COMPONENT:PATH=VALUE (true/false/null and numbers are typed).",
                      "gpuoperator:driver.version=580.82.07")  # fmt: skip
    disable = _repeatable("Leave a component out of the bundle.", "nvsentinel")
    system_node_selector = _repeatable("Node selector for system components: KEY=VALUE.", "nodeGroup=system")
    system_node_toleration = _repeatable(
        "Toleration for system components: KEY=VALUE:EFFECT, KEY:EFFECT, or : for every taint.",
        "dedicated=system:NoSchedule",
    )
    accelerated_node_selector = _repeatable("Node selector for GPU node components: KEY=VALUE.", "nodeGroup=gpu")
    accelerated_node_toleration = _repeatable(
        "Toleration for GPU node components: KEY=VALUE:EFFECT, KEY:EFFECT, or : for every taint.",
        "nvidia.com/gpu=present:NoSchedule",
    )
    repo = fields.String(
        load_default="", metadata={"description": "Git URL the Argo CD applications read values from (argocd)."}
    )
    format = fields.String(
        load_default="zip",
        validate=validate.OneOf(["zip", "tar.gz"]),
        metadata={"description": "Archive format; without it the Accept header decides "
                  "(application/gzip: tar.gz), else zip."},
    )  # fmt: skip

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.data_key = field_name.replace("_", "-")  # system-node-selector, as the CLI's flags


H = TypeVar("H", bound=Callable[..., Any])


def document_errors(errors: Mapping[int, str]) -> Callable[[H], H]:
    """A decorator documenting each status in ``errors`` as the JSON error envelope."""

    def decorate(handler: H) -> H:
        for status, description in errors.items():
            handler = response_schema(ErrorSchema(), status, description=description)(handler)
        return handler

    return decorate
