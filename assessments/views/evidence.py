"""Evidence files: upload (XMLHttpRequest with progress, or a plain form), download, inline
preview of PDFs and images, deletion before the first submission, and a page listing every
indicator's evidence.

Files are served only through these views, after the same access check as the assessment
(outsiders get 404); there are no public media URLs. A file waiting for its malware scan, found
infected, or whose scan failed is served to nobody: the download and preview answer 409 with a
page saying why; an admin may ask for a failed or stuck scan again.
"""

from __future__ import annotations

import datetime
import os
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts.requests import AuthenticatedRequest
from govcloud_eval.forms import wants_json
from govcloud_eval.limits import max_body
from govcloud_eval.storage import open_stream
from indicators.models import Indicator

from .. import selectors
from ..evidence import selectors as evidence_selectors
from ..evidence import services as evidence_services
from ..evidence import uploads as evidence_uploads
from ..models import Assessment, Evidence


def _get_assessment_for_user(request: AuthenticatedRequest, pk: int) -> Assessment:
    return selectors.assessment_get_for(user=request.user, pk=pk)


def _back(
    request: HttpRequest, assessment_pk: int, anchor: str = "", *, read_body: bool = True
) -> HttpResponse:
    target = request.POST.get("next", "") if read_body else ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("assessments:evidence_list", args=[assessment_pk])
    return redirect(f"{target.split('#')[0]}{anchor}")


def _refuse(
    request: HttpRequest,
    assessment_pk: int,
    errors: list[str],
    status: int = 400,
    *,
    read_body: bool = True,
) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"ok": False, "errors": errors}, status=status)
    for message in errors:
        messages.error(request, message)
    return _back(request, assessment_pk, read_body=read_body)


def parse_date(raw: str | None, label: str) -> datetime.date | None:
    """An optional ISO date a user typed (the upload form's, or the API's ``Upload-Metadata``);
    ValidationError naming the field ``label`` when it is not one."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(
            _("%(field)s: “%(value)s” is not a date (YYYY-MM-DD).") % {"field": label, "value": raw}
        ) from None


# ----------------------------------------------------------------------------------------------
# Upload


@max_body(evidence_uploads.max_bytes)
@login_required
@csrf_exempt  # checked by _evidence_upload, once our upload handler is in place
@require_POST
def evidence_upload(request: AuthenticatedRequest, pk: int, indicator_id: int) -> HttpResponse:
    """Receives one file (field ``file``) for one indicator, with optional ``issued_on`` and
    ``valid_until``. Answers JSON to XMLHttpRequest (201 with the new row, or 400/403 with
    ``errors``), otherwise redirects back with a message.

    Access and permission are checked before the body is read: an outsider gets 404 and a
    refused user 403 without a byte of their file reaching the disk.
    """
    assessment = _get_assessment_for_user(request, pk)
    indicator = get_object_or_404(
        Indicator, pk=indicator_id, framework_id=assessment.campaign.framework_id
    )
    refusal = evidence_services.evidence_upload_refusal(
        assessment=assessment,
        user=request.user,
    )
    if refusal is not None:
        return _refuse(request, pk, [refusal], status=403, read_body=False)
    # A body declaring more than the largest file was refused before this view, unread
    # (``max_body``, ``govcloud_eval.limits``); the handler counts what arrives.
    handler = evidence_uploads.EvidenceUploadHandler(request)
    request.upload_handlers = [handler]
    return _evidence_upload(request, assessment, indicator, handler)


@csrf_protect
def _evidence_upload(
    request: AuthenticatedRequest,
    assessment: Assessment,
    indicator: Indicator,
    handler: evidence_uploads.EvidenceUploadHandler,
) -> HttpResponse:
    files = request.FILES.getlist("file")
    if handler.too_large:
        return _refuse(
            request, assessment.pk, evidence_uploads.too_large_error(handler.client_name).messages
        )
    if len(files) != 1:
        return _refuse(request, assessment.pk, [_("Choose one file to upload.")])
    upload = files[0]
    try:
        issued_on = parse_date(request.POST.get("issued_on"), _("Issued on"))
        valid_until = parse_date(request.POST.get("valid_until"), _("Valid until"))
        item = evidence_services.evidence_upload(
            assessment=assessment,
            indicator=indicator,
            upload=upload,
            issued_on=issued_on,
            valid_until=valid_until,
            acting_user=request.user,
        )
    except PermissionDenied as error:
        upload.close()
        return _refuse(request, assessment.pk, [str(error)], status=403)
    except ValidationError as error:
        upload.close()
        return _refuse(request, assessment.pk, error.messages)
    if not wants_json(request):
        messages.success(
            request,
            _("%(name)s uploaded (version %(version)s).")
            % {"name": item.original_name, "version": item.version},
        )
        if item.scan_state == Evidence.ScanState.PENDING:
            messages.info(
                request,
                _("%(name)s is being scanned for viruses; it can be downloaded once found clean.")
                % {"name": item.original_name},
            )
        return _back(request, assessment.pk, f"#evidence-{indicator.pk}")
    return JsonResponse(_payload(request, item), status=201)


def _payload(request: HttpRequest, item: Evidence) -> dict[str, Any]:
    reference_date = item.assessment.campaign.evidence_reference_date
    (row,) = evidence_selectors.evidence_rows(evidence_files=[item], reference_date=reference_date)
    html = render_to_string(
        "assessments/partials/_evidence_row.html",
        {
            "row": row,
            "assessment": item.assessment,
            "can_upload": True,
            "reference_date": reference_date,
        },
        request=request,
    )
    return {
        "ok": True,
        "id": item.pk,
        "name": item.original_name,
        "size": item.size,
        "sha256": item.sha256,
        "content_type": item.content_type,
        "version": item.version,
        "replaces": item.replaces_id,
        "issued_on": item.issued_on.isoformat() if item.issued_on else None,
        "valid_until": item.valid_until.isoformat() if item.valid_until else None,
        "expires_early": row.expires_early,
        "scan_state": item.scan_state,
        "download_url": reverse("assessments:evidence_download", args=[item.pk]),
        "html": html,
    }


# ----------------------------------------------------------------------------------------------
# Download and preview


PDF_PREVIEW_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)


def content_disposition(kind: str, name: str, pk: int) -> str:
    """Both forms of the name: an ASCII fallback for old clients and the UTF-8 original."""
    stem, extension = os.path.splitext(name)
    fallback = "".join(c for c in stem if c.isascii() and c.isprintable() and c not in '"\\;')
    fallback = (fallback.strip() or f"evidence-{pk}") + "".join(
        c for c in extension if c.isascii() and c.isalnum() or c == "."
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _unavailable(request: HttpRequest, item: Evidence) -> HttpResponse:
    """The page a download or preview of a file not (yet) found clean answers, with 409."""
    return render(
        request,
        "assessments/evidence_unavailable.html",
        {"evidence": item, "assessment": item.assessment},
        status=409,
    )


def _serve(item: Evidence, *, inline: bool) -> HttpResponseBase:
    try:
        handle = open_stream(item.file)
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=item.content_type or "application/octet-stream")
    if "Content-Length" not in response:  # an object store's stream: the recorded size
        response["Content-Length"] = str(item.size)
    response["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", item.original_name, item.pk
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    if inline:
        # Shown in the portal's origin, so it may run nothing and reach nothing. Chromium refuses
        # to open its PDF viewer in a sandboxed document, so PDFs get the strictest policy that
        # still displays them; images are sandboxed.
        response["Content-Security-Policy"] = (
            PDF_PREVIEW_POLICY if item.content_type == "application/pdf" else "sandbox"
        )
    return response


@login_required
@require_GET
def evidence_download(request: AuthenticatedRequest, pk: int) -> HttpResponseBase:
    item = selectors.evidence_get_for(user=request.user, pk=pk)
    if not item.is_downloadable:
        return _unavailable(request, item)
    response = _serve(item, inline=False)
    evidence_services.evidence_record_download(
        evidence=item, acting_user=request.user, preview=False
    )
    return response


@login_required
@require_GET
def evidence_preview(request: AuthenticatedRequest, pk: int) -> HttpResponseBase:
    """PDFs and images, inline, for anyone who may download them (``evidence.view``); other
    types are downloads only. The pages offer the preview to those who review evidence
    (``evidence.preview``: assessors, owners, admins); the vendor, who uploaded the files, is
    offered downloads."""
    item = selectors.evidence_get_for(user=request.user, pk=pk)
    if not evidence_selectors.is_previewable(item):
        raise Http404
    if not item.is_downloadable:
        return _unavailable(request, item)
    response = _serve(item, inline=True)
    evidence_services.evidence_record_download(
        evidence=item, acting_user=request.user, preview=True
    )
    return response


# ----------------------------------------------------------------------------------------------
# Delete


@login_required
@require_POST
def evidence_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    item = selectors.evidence_get_for(user=request.user, pk=pk)
    try:
        evidence_services.evidence_delete(
            evidence=item,
            acting_user=request.user,
        )
    except PermissionDenied as error:
        return _refuse(request, item.assessment_id, [str(error)], status=403)
    except ValidationError as error:
        return _refuse(request, item.assessment_id, error.messages)
    if wants_json(request):
        return JsonResponse({"ok": True, "id": pk})
    messages.success(request, _("%(name)s deleted.") % {"name": item.original_name})
    return _back(request, item.assessment_id, f"#evidence-{item.indicator_id}")


@login_required
@require_POST
def evidence_rescan(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Asks again for the malware scan of a file whose scan failed or is stuck (admins)."""
    item = selectors.evidence_get_for(user=request.user, pk=pk)
    try:
        evidence_services.evidence_rescan(evidence=item, acting_user=request.user)
    except ValidationError as error:
        return _refuse(request, item.assessment_id, error.messages, status=409)
    if wants_json(request):
        return JsonResponse({"ok": True, "id": pk})
    messages.success(
        request, _("A new virus scan of %(name)s was requested.") % {"name": item.original_name}
    )
    return _back(request, item.assessment_id, f"#evidence-{item.indicator_id}")


# ----------------------------------------------------------------------------------------------
# The evidence of an assessment on one page


@login_required
@require_GET
def evidence_list(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Every indicator with its evidence files: an inventory with checksums and validity for
    assessors and owners, and a place to upload for the vendor."""
    assessment = _get_assessment_for_user(request, pk)
    indicators = selectors.indicators_of(assessment=assessment)
    by_indicator = selectors.evidence_by_indicator(assessment=assessment)
    rows = [(indicator, by_indicator.get(indicator.pk, [])) for indicator in indicators]
    files = [item for items in by_indicator.values() for item in items]
    return render(
        request,
        "assessments/evidence_list.html",
        {
            "assessment": assessment,
            "campaign": assessment.campaign,
            "rows": rows,
            "file_count": len(files),
            "total_size": sum(item.size for item in files),
            "expiring": evidence_selectors.evidence_expiring(assessment=assessment),
            "can_upload": evidence_services.evidence_upload_refusal(
                assessment=assessment, user=request.user
            )
            is None,
            "reference_date": assessment.campaign.evidence_reference_date,
        },
    )


urlpatterns: list[URLPattern] = [
    path("assessments/<int:pk>/evidence/", evidence_list, name="evidence_list"),
    path(
        "assessments/<int:pk>/indicators/<int:indicator_id>/evidence/",
        evidence_upload,
        name="evidence_upload",
    ),
    path("evidence/<int:pk>/download/", evidence_download, name="evidence_download"),
    path("evidence/<int:pk>/preview/", evidence_preview, name="evidence_preview"),
    path("evidence/<int:pk>/delete/", evidence_delete, name="evidence_delete"),
    path("evidence/<int:pk>/rescan/", evidence_rescan, name="evidence_rescan"),
]
