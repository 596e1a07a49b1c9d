"""One JSON shape for every API error, with a machine-readable code and a human message.

::

    {"code": "validation_error", "message": "…", "fields": {"due_on": ["…"]}}

``code`` never changes with the language; ``message`` is in the request's language (Chinese by
default); ``fields`` is there only for errors about particular fields. The services raise
Django's ``ValidationError`` and ``PermissionDenied``: they become 400 and 403 here, so that an
API view calls the same service as its page and lets its errors through.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# DRF's own codes, renamed where the portal says something clearer; the rest pass unchanged.
CODES = {
    "invalid": "validation_error",
    "not_authenticated": "not_authenticated",
    "authentication_failed": "authentication_failed",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "throttled",
    "parse_error": "parse_error",
}


class Conflict(exceptions.APIException):
    """The object is not in a state that allows this (409): a file still being scanned, an
    upload at another offset. ``code`` names the case."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return body


def _strings(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            out.extend(_strings(item))
        return out
    if isinstance(value, dict):
        out = []
        for item in value.values():
            out.extend(_strings(item))
        return out
    return [str(value)]


def _field_errors(detail: dict) -> dict[str, list[str]]:
    return {str(name): _strings(value) for name, value in detail.items()}


def _from_django_validation(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail: Any = {
            ("non_field_errors" if name == "__all__" else name): messages
            for name, messages in exc.message_dict.items()
        }
    else:
        detail = exc.messages
    return exceptions.ValidationError(detail=detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every error in the one shape above."""
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, PermissionDenied) and not isinstance(exc, exceptions.APIException):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(detail, dict):
            fields = _field_errors(detail)
            general = fields.pop("non_field_errors", [])
            messages = general or [f"{name}: {text[0]}" for name, text in fields.items() if text]
        else:
            fields = {}
            messages = _strings(detail)
        response.data = error_body(
            "validation_error", messages[0] if messages else _("Invalid input."), fields
        )
        return response
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    message = _strings(detail)[0] if detail else str(exc.default_detail)
    response.data = error_body(CODES.get(str(code), str(code)), message)
    return response
