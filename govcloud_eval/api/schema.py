"""The OpenAPI document's shared parts: the error schema on every operation.

``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]`` runs ``document_errors`` after drf-spectacular
has built the document: every operation gets the error responses any API view may give (the
shape of ``errors.error_body``), unless the view documented its own for that status.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.hooks import postprocess_schema_enums

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error: a code that does not change with the language, and a message "
    "in the request's language.",
    "properties": {
        "code": {
            "type": "string",
            "description": "Machine-readable: validation_error, not_authenticated, "
            "authentication_failed, permission_denied, not_found, method_not_allowed, "
            "not_acceptable, unsupported_media_type, throttled, parse_error, conflict, "
            "too_large, checksum_mismatch, …",
            "example": "validation_error",
        },
        "message": {"type": "string", "example": "截止日期不能早于今天。"},
        "fields": {
            "type": "object",
            "description": "For a validation error: the messages of each field.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "message"],
}

# Statuses every operation may answer with, and why.
COMMON = {
    "401": "Not signed in, or the token is unknown, revoked or expired.",
    "403": "The user's role or relation does not allow this.",
    "404": "No such object, or not one the user may see.",
    "406": "The Accept header asks for something other than JSON.",
    "429": "Too many requests: wait the Retry-After seconds.",
}
WITH_INPUT = {
    "400": "The input is invalid: the message and the fields say what.",
    "409": "The object's state does not allow this now.",
    "415": "The request body's Content-Type is not accepted.",
}
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_errors(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    result = postprocess_schema_enums(result, generator, **kwargs)
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            extra = dict(COMMON)
            # Lists take query parameters (filters, page): a bad one is a 400 as well.
            if method != "get" or operation.get("parameters"):
                extra.update(WITH_INPUT)
            for status_code, description in extra.items():
                responses.setdefault(status_code, _error(description))
    return result
