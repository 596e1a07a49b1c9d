"""Resumable evidence uploads over the API: the tus protocol 1.0.0 (core, creation, checksum,
expiration, termination). The writes are ``assessments.evidence.resumable``'s.

- ``POST /api/v1/uploads/`` creates an upload (``Upload-Length``, ``Upload-Metadata``) and
  answers 201 with its ``Location``;
- ``HEAD`` on that URL gives ``Upload-Offset``, where the next chunk starts (after an
  interruption: the end of the last good chunk); ``GET`` its status as JSON;
- ``PATCH`` sends one chunk (``Upload-Offset``, ``Upload-Checksum: sha256 <base64>``); the one
  that completes the file stores it as evidence (``Upload-Evidence``);
- ``DELETE`` ends it; ``OPTIONS /api/v1/uploads/`` tells what the server supports.

The chunk's body is read from the request stream here, in pieces, never parsed by DRF: the
parser below only declares the media type.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.http import http_date
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from govcloud_eval.limits import close_unread, max_body

from .. import selectors
from ..evidence import resumable
from ..evidence.uploads import max_bytes
from ..models import ResumableUpload
from ..views.evidence import parse_date

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,expiration,termination"
CHECKSUM_MISMATCH = 460
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_MAX_ID = 2**63 - 1
_METADATA_KEY = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
REQUIRED_METADATA = ("assessment", "indicator", "filename", "sha256")
ERROR_REF = {"$ref": "#/components/schemas/Error"}


class OffsetOctetStreamParser(BaseParser):
    """Declares ``application/offset+octet-stream`` (a tus chunk). Never asked to parse: the
    view reads the body from the request stream itself, in pieces."""

    media_type = "application/offset+octet-stream"

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {}


class OctetStreamParser(OffsetOctetStreamParser):
    """``application/octet-stream``, taken as a chunk too (what generic HTTP tools send)."""

    media_type = "application/octet-stream"


class TusVersionUnsupported(exceptions.APIException):
    status_code = 412
    default_code = "tus_version"


class UploadRefused(exceptions.APIException):
    """An ``resumable.UploadError`` as an API error: its status, code and message."""

    def __init__(self, error: resumable.UploadError) -> None:
        super().__init__(detail=error.message, code=error.code)
        self.status_code = error.status


def _user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # the permission class let no anonymous request through
        raise exceptions.NotAuthenticated()
    return user


def _require_tus(request: Request) -> None:
    """Refuses (412) a request for another version of the protocol. A request without
    ``Tus-Resumable`` is taken as 1.0.0: curl users forget it, and no other version exists."""
    version = request.headers.get("Tus-Resumable")
    if version is not None and version.strip() != TUS_VERSION:
        raise TusVersionUnsupported(
            _("Send the header Tus-Resumable: %(version)s; no other version is supported.")
            % {"version": TUS_VERSION}
        )


def _invalid(header: str, message: str) -> ValidationError:
    return ValidationError({header: [message]})


def _header_int(request: Request, header: str) -> int:
    raw = request.headers.get(header)
    if raw is None:
        raise _invalid(header, _("The header %(header)s is required.") % {"header": header})
    if not _DIGITS.match(raw.strip()):
        raise _invalid(
            header,
            _("The header %(header)s must be a whole number of bytes.") % {"header": header},
        )
    return int(raw.strip())


def _metadata(raw: str) -> dict[str, str]:
    """The pairs of ``Upload-Metadata``: ``key base64value`` separated by commas."""
    header = "Upload-Metadata"
    pairs: dict[str, str] = {}
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        key, _sep, value = item.partition(" ")
        value = value.strip()
        if not _METADATA_KEY.match(key) or key in pairs or " " in value:
            raise _invalid(
                header,
                _("Upload-Metadata must be comma-separated pairs “key base64value”."),
            )
        try:
            pairs[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise _invalid(
                header,
                _("The value of “%(key)s” in Upload-Metadata is not Base64 of UTF-8 text.")
                % {"key": key},
            ) from None
    missing = [key for key in REQUIRED_METADATA if not pairs.get(key, "").strip()]
    if missing:
        raise _invalid(
            header,
            _("Upload-Metadata lacks: %(keys)s.") % {"keys": ", ".join(missing)},
        )
    return pairs


def _indicator_code(raw: str) -> str:
    code = raw.strip()
    if len(code) > 32 or any(ord(c) < 32 or ord(c) == 127 for c in code):
        raise ValidationError(
            {
                "indicator": _("The campaign's framework has no indicator “%(code)s”.")
                % {"code": code[:40].encode("unicode_escape").decode("ascii")}
            }
        )
    return code


def _checksum(request: Request) -> bytes:
    """The raw digest of ``Upload-Checksum: sha256 <base64>``."""
    raw = request.headers.get("Upload-Checksum")
    if raw is None or not raw.strip():
        raise UploadRefused(
            resumable.UploadError(
                _("Each chunk needs the header Upload-Checksum: sha256 <Base64 of its SHA-256>."),
                code="checksum_missing",
                status=400,
            )
        )
    algorithm, _sep, value = raw.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise UploadRefused(
            resumable.UploadError(
                _("The only checksum algorithm supported is sha256."),
                code="checksum_algorithm",
                status=400,
            )
        )
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32:
        raise UploadRefused(
            resumable.UploadError(
                _("Upload-Checksum must be “sha256” and the Base64 of a 32-byte SHA-256 digest."),
                code="checksum_invalid",
                status=400,
            )
        )
    return digest


def _content_length(request: Request) -> int:
    """The chunk's declared length: a body without Content-Length is empty to Django, which is
    right unless it was sent in HTTP chunked encoding."""
    raw = str(request.META.get("CONTENT_LENGTH") or "").strip()
    if not raw and "Transfer-Encoding" not in request.headers:
        return 0
    if not _DIGITS.match(raw):
        raise UploadRefused(
            resumable.UploadError(
                _("A chunk needs a Content-Length header."),
                code="length_required",
                status=400,
            )
        )
    return int(raw)


def _expires(upload: ResumableUpload) -> dict[str, str]:
    if upload.state != ResumableUpload.State.RECEIVING:
        return {}
    return {"Upload-Expires": http_date(upload.expires_at.timestamp())}


def _refuse(error: resumable.UploadError) -> UploadRefused:
    return UploadRefused(error)


# ----------------------------------------------------------------------------------------------
# Status


class UploadStatusSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    url = serializers.SerializerMethodField(help_text="This upload's URL (HEAD, PATCH, DELETE).")
    state = serializers.ChoiceField(
        choices=ResumableUpload.State.choices,
        read_only=True,
        help_text="receiving (send chunks), assembling (the last chunk arrived and the file is "
        "being checked), complete (see evidence), failed (see error), expired.",
    )
    offset = serializers.IntegerField(read_only=True, help_text="Bytes received in good chunks.")
    length = serializers.IntegerField(read_only=True, help_text="The whole file's length.")
    filename = serializers.CharField(read_only=True)
    assessment = serializers.IntegerField(source="assessment_id", read_only=True)
    indicator = serializers.CharField(source="indicator.code", read_only=True)
    sha256 = serializers.CharField(read_only=True, help_text="The whole file's SHA-256 (hex).")
    issued_on = serializers.DateField(read_only=True, allow_null=True)
    valid_until = serializers.DateField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(
        read_only=True,
        help_text="While receiving: when the upload expires unless another good chunk arrives.",
    )
    evidence = serializers.IntegerField(
        source="evidence_id", read_only=True, allow_null=True, help_text="Once complete."
    )
    evidence_url = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, upload: ResumableUpload) -> str:
        return resumable.upload_path(upload.pk)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_evidence_url(self, upload: ResumableUpload) -> str | None:
        return resumable.evidence_path(upload.evidence_id) if upload.evidence_id else None

    @extend_schema_field(
        {"type": "string", "nullable": True, "description": "Why it failed or expired."}
    )
    def get_error(self, upload: ResumableUpload) -> str | None:
        return upload.error or None


# ----------------------------------------------------------------------------------------------
# Views


class _TusView(APIView):
    permission_classes = [policy.api_permission(Action.EVIDENCE_UPLOAD)]

    def check_permissions(self, request: Request) -> None:
        # What the server supports is no secret: OPTIONS needs no account (as tus clients ask).
        if request.method == "OPTIONS":
            return
        super().check_permissions(request)

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        return Response(
            status=204,
            headers={
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": TUS_EXTENSIONS,
                "Tus-Max-Size": str(max_bytes()),
                "Tus-Checksum-Algorithm": "sha256",
            },
        )

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        if response.status_code == 412:
            response["Tus-Version"] = TUS_VERSION
        if response.status_code == CHECKSUM_MISMATCH:
            response.reason_phrase = "Checksum Mismatch"
        if request.method in ("PATCH", "POST") and response.status_code >= 400:
            # The body may be unread: let the server close rather than read it first.
            response = close_unread(request._request, response)
        return response


TUS_NOTE = (
    " Send `Tus-Resumable: 1.0.0` (tus clients do; a request without it is taken as 1.0.0, one "
    "naming another version gets 412 with `Tus-Version`)."
)
PRECONDITION = OpenApiResponse(ERROR_REF, description="Tus-Resumable is not 1.0.0.")
GONE = OpenApiResponse(ERROR_REF, description="The upload expired; its chunks are deleted.")
TOO_LARGE = OpenApiResponse(ERROR_REF, description="Larger than the server accepts.")


class UploadCreate(_TusView):
    """Starts a resumable upload of one evidence file."""

    @extend_schema(
        operation_id="uploads_create",
        summary="Start a resumable evidence upload (tus creation)",
        description=(
            "Creates an upload for one evidence file of `Upload-Length` bytes. "
            "`Upload-Metadata` is comma-separated pairs `key base64(value)`: `assessment` (its "
            "id), `indicator` (the indicator's code, e.g. 1.2), `filename`, `sha256` (the whole "
            "file's SHA-256 in hex), and optionally `issued_on`, `valid_until` (YYYY-MM-DD). "
            "Who may upload, the name, the type by extension and the size limit are checked "
            "now; the content is checked like a browser upload once the last chunk arrives. "
            "Answers 201 with `Location` (the upload's URL), `Upload-Expires` and the status. "
            "The body must be empty." + TUS_NOTE
        ),
        request=None,
        parameters=[
            OpenApiParameter(
                "Upload-Length",
                {"type": "integer", "format": "int64", "minimum": 1, "maximum": max_bytes()},
                location=OpenApiParameter.HEADER,
                required=True,
                description="The whole file's length in bytes.",
            ),
            OpenApiParameter(
                "Upload-Metadata",
                OpenApiTypes.STR,
                location=OpenApiParameter.HEADER,
                required=True,
                description="`assessment <b64>,indicator <b64>,filename <b64>,sha256 <b64>` "
                "(and optionally `issued_on`, `valid_until`).",
                examples=[
                    OpenApiExample(
                        "A PDF for indicator 1.2 of assessment 7",
                        value="assessment Nw==,indicator MS4y,filename cmVwb3J0LnBkZg==,"
                        "sha256 ZTNiMGM0NDI5OGZjMWMxNDlhZmJmNGM4OTk2ZmI5MjQyN2FlNDFlNDY0OWI5MzRj"
                        "YTQ5NTk5MWI3ODUyYjg1NQ==",
                    )
                ],
            ),
        ],
        responses={201: UploadStatusSerializer, 412: PRECONDITION, 413: TOO_LARGE},
    )
    def post(self, request: Request) -> Response:
        _require_tus(request)
        user = _user(request)
        if "Upload-Defer-Length" in request.headers:
            raise _invalid(
                "Upload-Defer-Length", _("Give the file's length in Upload-Length when creating.")
            )
        length = _header_int(request, "Upload-Length")
        meta = _metadata(request.headers.get("Upload-Metadata", ""))
        raw_id = meta["assessment"].strip()
        if not _DIGITS.match(raw_id) or not 0 < int(raw_id) <= _MAX_ID:
            raise exceptions.NotFound(_("Not found."))
        assessment = selectors.assessment_get_for(user=user, pk=int(raw_id))
        try:
            upload = resumable.resumable_upload_create(
                assessment=assessment,
                indicator_code=_indicator_code(meta["indicator"]),
                filename=meta["filename"],
                length=length,
                sha256=meta["sha256"],
                issued_on=parse_date(meta.get("issued_on"), _("Issued on")),
                valid_until=parse_date(meta.get("valid_until"), _("Valid until")),
                acting_user=user,
            )
        except resumable.UploadError as error:
            raise _refuse(error) from None
        return Response(
            UploadStatusSerializer(upload).data,
            status=201,
            headers={
                "Location": request.build_absolute_uri(resumable.upload_path(upload.pk)),
                "Upload-Offset": "0",
                **_expires(upload),
            },
        )


class UploadDetail(_TusView):
    """One resumable upload: its offset (HEAD), status (GET), chunks (PATCH), end (DELETE)."""

    parser_classes = [OffsetOctetStreamParser, OctetStreamParser]

    # The largest body a request here may declare: one chunk (``govcloud_eval.limits``; Django's
    # View.as_view copies the mark from dispatch onto the view function the middleware sees).
    @max_body(resumable.chunk_max_bytes)
    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().dispatch(request, *args, **kwargs)

    def _upload(self, request: Request, pk: uuid.UUID) -> ResumableUpload:
        return resumable.resumable_upload_get_for(user=_user(request), pk=pk)

    def head(self, request: Request, pk: uuid.UUID) -> Response:
        _require_tus(request)
        upload = self._upload(request, pk)
        try:
            resumable.refuse_if_expired(upload)
        except resumable.UploadError as error:
            raise _refuse(error) from None
        return Response(
            status=200,
            headers={
                "Upload-Offset": str(upload.offset),
                "Upload-Length": str(upload.length),
                "Cache-Control": "no-store",
                **_expires(upload),
            },
        )

    @extend_schema(
        operation_id="uploads_retrieve",
        summary="The status of a resumable upload",
        description=(
            "Where the upload stands: bytes received, its state, when it expires, and once "
            "complete the evidence file it made (or why it failed). Only its creator sees it. "
            "`HEAD` on the same URL answers `Upload-Offset` (tus)."
        ),
        responses={200: UploadStatusSerializer},
    )
    def get(self, request: Request, pk: uuid.UUID) -> Response:
        upload = self._upload(request, pk)
        if resumable.is_expired(upload):
            try:
                resumable.refuse_if_expired(upload)
            except resumable.UploadError:
                upload = self._upload(request, pk)
        return Response(
            UploadStatusSerializer(upload).data,
            headers={"Cache-Control": "no-store", **_expires(upload)},
        )

    @extend_schema(
        operation_id="uploads_chunk",
        summary="Send one chunk of a resumable upload (tus PATCH)",
        description=(
            "The body is the chunk's bytes (`Content-Type: application/offset+octet-stream`, "
            "with `Content-Length`), starting at `Upload-Offset`, which must be the upload's "
            "current offset (else 409 `offset_mismatch`). `Upload-Checksum: sha256 <Base64 of "
            "the chunk's SHA-256>` is required (missing: 400 `checksum_missing`; another: 460 "
            "`checksum_mismatch`, nothing kept). A chunk cut off or past the declared length is "
            "discarded: the offset stays. Answers 204 with the new `Upload-Offset` and "
            "`Upload-Expires`; the chunk that completes the file has it checked like a browser "
            "upload and answers `Upload-Evidence: /api/v1/evidence/<id>/`, or 400 with the "
            "reason (the upload has failed then). `application/octet-stream` is taken as well."
            + TUS_NOTE
        ),
        request={
            OffsetOctetStreamParser.media_type: OpenApiTypes.BINARY,
            OctetStreamParser.media_type: OpenApiTypes.BINARY,
        },
        parameters=[
            OpenApiParameter(
                "Upload-Offset",
                {"type": "integer", "format": "int64", "minimum": 0},
                location=OpenApiParameter.HEADER,
                required=True,
                description="Where this chunk starts: the upload's current offset.",
            ),
            OpenApiParameter(
                "Upload-Checksum",
                {"type": "string", "pattern": "^sha256 [A-Za-z0-9+/]{43}=$"},
                location=OpenApiParameter.HEADER,
                required=True,
                description="`sha256 <Base64 of the chunk's SHA-256 digest>`.",
                examples=[
                    OpenApiExample(
                        "An empty chunk",
                        value="sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                    )
                ],
            ),
        ],
        responses={
            204: OpenApiResponse(
                description="Kept: `Upload-Offset` is the new offset; `Upload-Evidence` names "
                "the evidence file once the upload is complete."
            ),
            410: GONE,
            412: PRECONDITION,
            413: TOO_LARGE,
            CHECKSUM_MISMATCH: OpenApiResponse(
                ERROR_REF,
                description="Checksum Mismatch: the chunk's SHA-256 is not the one in "
                "Upload-Checksum; nothing was kept.",
            ),
        },
    )
    def patch(self, request: Request, pk: uuid.UUID) -> Response:
        _require_tus(request)
        upload = self._upload(request, pk)
        size = _content_length(request)
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        # An empty chunk (it finishes an upload whose last chunk was kept) needs no type (and
        # the development server calls a body without one text/plain).
        if size and media_type not in (
            OffsetOctetStreamParser.media_type,
            OctetStreamParser.media_type,
        ):
            raise exceptions.UnsupportedMediaType(media_type or "-")
        offset = _header_int(request, "Upload-Offset")
        checksum = _checksum(request)
        try:
            upload = resumable.resumable_chunk_receive(
                upload=upload,
                offset=offset,
                size=size,
                checksum=checksum,
                read=request._request.read,
                acting_user=_user(request),
            )
        except resumable.UploadError as error:
            raise _refuse(error) from None
        headers = {"Upload-Offset": str(upload.offset), **_expires(upload)}
        if upload.state == ResumableUpload.State.COMPLETE and upload.evidence_id:
            headers["Upload-Evidence"] = resumable.evidence_path(upload.evidence_id)
        return Response(status=204, headers=headers)

    @extend_schema(
        operation_id="uploads_destroy",
        summary="End a resumable upload (tus termination)",
        description=(
            "Deletes the upload and its chunks; an evidence file it already made stays. 409 "
            "while its file is being checked." + TUS_NOTE
        ),
        responses={204: None, 412: PRECONDITION},
    )
    def delete(self, request: Request, pk: uuid.UUID) -> Response:
        _require_tus(request)
        upload = self._upload(request, pk)
        try:
            resumable.resumable_upload_terminate(upload=upload, acting_user=_user(request))
        except resumable.UploadError as error:
            raise _refuse(error) from None
        return Response(status=204)
