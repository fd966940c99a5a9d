"""Small builders for OpenAPI operations, so every spec module describes routes the same way.

Every operation answers in the envelope: the 2xx schema is given per operation, every other status is the
shared error envelope (``default``), with the statuses the operation really uses listed for readers.
"""

from __future__ import annotations

from typing import Any, Final

from wa_gateway import vocabulary as v

Schema = dict[str, Any]
Operation = dict[str, Any]
PathSpec = dict[str, dict[str, Operation]]

TOKEN_PATTERN: Final = v.TOKEN_PATTERN
TIMESTAMP: Final[Schema] = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}
STRING: Final[Schema] = {"type": "string"}
BOOLEAN: Final[Schema] = {"type": "boolean"}
INTEGER: Final[Schema] = {"type": "integer"}
NULLABLE_STRING: Final[Schema] = {"type": ["string", "null"]}
# What the routes really accept, so generated requests (schemathesis) reach the handlers' logic.
TOKEN: Final[Schema] = {"type": "string", "pattern": TOKEN_PATTERN}
NON_EMPTY: Final[Schema] = {"type": "string", "minLength": 1}
# ``/messages/media`` and ``/messages/read`` are their own routes, so an id never takes those two values.
MESSAGE_ID_PATTERN: Final = "^(?!(media|read)$)[^/]+$"

ERROR_STATUSES: Final = {
    400: "Invalid input (INVALID_REQUEST, INVALID_TOKEN, INVALID_PHONE, …)",
    401: "Missing or invalid API key (UNAUTHORIZED)",
    403: "Origin not allowed, or the API key lacks the scope or the device (FORBIDDEN)",
    404: "Unknown route or resource (NOT_FOUND, DEVICE_NOT_FOUND, …)",
    405: "Method not allowed (METHOD_NOT_ALLOWED)",
    409: (
        "State does not allow it (DEVICE_NOT_CONNECTED, DEVICE_ALREADY_CONNECTED, IDEMPOTENCY_IN_PROGRESS, "
        "HISTORY_SYNC_PENDING)"
    ),
    413: "Body too large (PAYLOAD_TOO_LARGE)",
    426: "Not a WebSocket upgrade (UPGRADE_REQUIRED)",
    422: "Not processable (IDEMPOTENCY_KEY_REUSED, FFMPEG_UNAVAILABLE, …)",
    429: "Rate limited (RATE_LIMITED); see Retry-After",
    500: "Unexpected failure (INTERNAL_ERROR, SEND_FAILED, …)",
    503: "Engine not available (ENGINE_UNAVAILABLE), or it stopped holding a send (SEND_OUTCOME_UNKNOWN)",
    504: "Engine did not answer in time (ENGINE_TIMEOUT)",
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def envelope(data: Schema | None = None) -> Schema:
    """The success envelope with ``data`` of the given schema."""
    properties: dict[str, Schema] = {
        "success": {"const": True},
        "message": {"type": "string"},
        "meta": ref("Meta"),
    }
    properties["data"] = data if data is not None else {"type": "object"}
    return obj(properties, ("success", "data", "meta"))


def path_param(name: str, schema: Schema = STRING, description: str | None = None) -> Schema:
    param: Schema = {"name": name, "in": "path", "required": True}
    if description is not None:
        param["description"] = description
    param["schema"] = schema
    return param


def path_token(description: str = "Device token: its phone number with country code") -> Schema:
    return path_param("token", TOKEN, description)


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def page(items: str, item: Schema, required: tuple[str, ...] = ()) -> Schema:
    """One page of a list read with ``limit`` and ``offset``: the items under ``items``, and the paging."""
    return obj(
        {
            items: {"type": "array", "items": item},
            "total": INTEGER,
            "limit": INTEGER,
            "offset": INTEGER,
            "hasMore": BOOLEAN,
        },
        required,
    )


def paging(limit_minimum: int = 1) -> list[Schema]:
    """``limit`` and ``offset``, the query parameters of a list read a page at a time."""
    return [
        query("limit", {**INTEGER, "minimum": limit_minimum}, "Page size (default 100, at most 1000)"),
        query("offset", {**INTEGER, "minimum": 0}, "Rows to skip"),
    ]


def json_body(schema: Schema, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def operation(
    summary: str,
    *,
    tag: str,
    ok: Schema | None = None,
    ok_status: int = 200,
    body: dict[str, Any] | None = None,
    params: list[Schema] | None = None,
    errors: tuple[int, ...] = (400, 401, 429),
    public: bool = False,
    description: str | None = None,
    ok_content: dict[str, Any] | None = None,
) -> Operation:
    responses: dict[str, Any] = {}
    if ok_content is not None:
        responses[str(ok_status)] = {"description": "OK", "content": ok_content}
    else:
        responses[str(ok_status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": ok or envelope()}},
        }
    for status in errors:
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    op: Operation = {"summary": summary, "tags": [tag], "responses": responses}
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    return op


ERROR_ENVELOPE: Final[Schema] = obj(
    {
        "success": {"const": False},
        "error": obj(
            {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "The request body field of the wrong type"},
            },
            ("code", "message"),
        ),
        "meta": ref("Meta"),
    },
    ("success", "error", "meta"),
)


def components(schemas: dict[str, Schema]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "Error": {
            "description": "An error, in the envelope",
            "content": {"application/json": {"schema": ref("ErrorEnvelope")}},
        }
    }
    for status, text in ERROR_STATUSES.items():
        responses[f"Error{status}"] = {
            "description": text,
            "content": {"application/json": {"schema": ref("ErrorEnvelope")}},
        }
    return {
        "securitySchemes": {
            "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "BearerKey": {"type": "http", "scheme": "bearer"},
        },
        "responses": responses,
        "schemas": {
            "Meta": obj(
                {"timestamp": TIMESTAMP, "requestId": {"type": "string"}}, ("timestamp", "requestId")
            ),
            "ErrorEnvelope": ERROR_ENVELOPE,
            **schemas,
        },
    }


def public_file(
    summary: str, *, tag: str, media_type: str, schema: Schema = STRING, ok_status: int = 200
) -> Operation:
    """A public GET answering a file of ``media_type`` (a page, this document, an icon), not the envelope."""
    content = {media_type: {"schema": schema}} if media_type else {}
    return operation(summary, tag=tag, public=True, errors=(), ok_status=ok_status, ok_content=content)


def asset_operation(summary: str, tag: str) -> Operation:
    """A public GET of one of a page's script or style files, by name."""
    return operation(
        summary,
        tag=tag,
        public=True,
        errors=(404,),
        params=[path_param("asset")],
        ok_content={"text/javascript": {"schema": STRING}, "text/css": {"schema": STRING}},
    )
