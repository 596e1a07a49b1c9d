"""Certified report pages: the reports of an assessment (issue, download, re-issue, revoke) for
the portal's users, and the public verification pages (no login, rate-limited).

Access: the cloud's vendor, its owner and admins read an assessment's reports; everyone else
gets 404. Only admins write, through ``reports.certify``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from assessments.evidence.uploads import EvidenceUploadHandler
from govcloud_eval.limits import close_unread, max_body
from govcloud_eval.listing import (
    Filter,
    ListQuery,
    Search,
    export_format,
    export_response,
    paginate,
)
from govcloud_eval.storage import open_stream

from . import ratelimit, selectors, services, validation
from .models import Report

logger = logging.getLogger(__name__)


def _report_manager(request: AuthenticatedRequest) -> User:
    """The user, if the policy lets them issue and manage reports; 404 for everyone else."""
    user = request.user
    if not policy.can(user, Action.REPORT_MANAGE):
        raise Http404
    return user


def _back(request: HttpRequest, assessment_id: int) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("certified:assessment_reports", assessment_id)


# ----------------------------------------------------------------------------------------------
# For signed-in users


@login_required
@require_GET
def assessment_reports(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assessment = selectors.assessment_for_reports(user=request.user, pk=pk)
    return render(request, "certified/assessment_reports.html", {"assessment": assessment})


@login_required
@require_POST
def report_issue(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = _report_manager(request)
    assessment = selectors.assessment_for_reports(user=user, pk=pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Confirm that you understand an issued report is final."))
        return _back(request, assessment.pk)
    try:
        report = services.report_issue(
            assessment=assessment,
            acting_user=user,
            language=request.POST.get("language", Report.Language.CHINESE),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Report %(number)s issued; its PDF is being rendered.") % {"number": report.number},
        )
    return _back(request, assessment.pk)


@login_required
@require_GET
@never_cache
def report_status(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """Where a report's PDF is (pending, rendering, ready, failed), for the reports table that
    polls it while the PDF is rendered: the state and the table cell to show. 404 to those who
    may not read the report."""
    report = selectors.report_get_for(user=request.user, pk=pk)
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("certified:assessment_reports", args=[report.assessment_id])
    html = render_to_string(
        "certified/partials/_report_file.html",
        {
            "report": report,
            "is_admin": policy.can(request.user, Action.REPORT_MANAGE),
            "next_url": next_url,
        },
        request=request,
    )
    return JsonResponse(
        {
            "state": report.state,
            "label": report.get_state_display(),
            "done": report.state in (Report.State.READY, Report.State.FAILED),
            "html": html,
        }
    )


@login_required
@require_GET
def report_download(request: AuthenticatedRequest, pk: int) -> FileResponse:
    report = selectors.report_get_for(user=request.user, pk=pk)
    if not report.is_ready:
        raise Http404
    return report_pdf_response(report)


def report_pdf_response(report: Report) -> FileResponse:
    """A ready report's signed PDF, streamed as an attachment named after its number (this page
    and the API's download). Http404 when its file is missing from the storage."""
    try:
        handle = open_stream(report.file)
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{report.number}.pdf",
        content_type="application/pdf",
    )
    if "Content-Length" not in response and report.size is not None:
        response["Content-Length"] = str(report.size)  # an object store's stream
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _report_action(
    action: Callable[[Report, User, AuthenticatedRequest], str],
) -> Callable[[AuthenticatedRequest, int], HttpResponse]:
    @wraps(action)
    def view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
        user = _report_manager(request)
        report = selectors.report_get_for(user=user, pk=pk)
        try:
            messages.success(request, action(report, user, request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except PermissionDenied:
            raise Http404 from None
        return _back(request, report.assessment_id)

    return login_required(require_POST(view))


@_report_action
def report_reissue(report: Report, user: User, request: AuthenticatedRequest) -> str:
    new = services.report_reissue(
        report=report, reason=request.POST.get("reason", ""), acting_user=user
    )
    return _("Report %(new)s issued; it supersedes %(old)s.") % {
        "new": new.number,
        "old": report.number,
    }


@_report_action
def report_revoke(report: Report, user: User, request: AuthenticatedRequest) -> str:
    if request.POST.get("confirm") != "yes":
        raise ValidationError(_("Confirm that the report is to be revoked."))
    services.report_revoke(report=report, reason=request.POST.get("reason", ""), acting_user=user)
    return _("Report %(number)s revoked.") % {"number": report.number}


@_report_action
def report_retry(report: Report, user: User, request: AuthenticatedRequest) -> str:
    services.report_render_retry(report=report, acting_user=user)
    return _("Report %(number)s is being rendered again.") % {"number": report.number}


# ----------------------------------------------------------------------------------------------
# Public verification


def _public(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """No login; counted against the client's rate limit (429 past it); never cached; the
    address, which holds the code, is not sent to other sites as a referrer."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rule = ratelimit.verify_rate_limit()
        if ratelimit.rate_limited(
            scope="verify", ident=ratelimit.client_address(request), rule=rule
        ):
            response = render(
                request, "certified/verify/rate_limited.html", {"window": rule.window}, status=429
            )
            response["Retry-After"] = str(rule.window)
        else:
            response = view(request, *args, **kwargs)
        # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the
        # upload form and CSRF protection rejects it.
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex"
        return response

    return never_cache(wrapped)


def verification_upload_bytes(upload: UploadedFile, limit: int) -> bytes | None:
    """The whole upload, read once, or None when it holds more than ``limit`` bytes (never
    reading more than one byte past it)."""
    if upload.size is not None and upload.size > limit:
        return None
    upload.seek(0)
    data = upload.read(limit + 1)
    return None if len(data) > limit else data


def verification_compare(report: Report, name: str, data: bytes) -> dict[str, Any]:
    """What the page says about an uploaded file: its SHA-256 against the issued file's, and
    its signature (``validation``). The verdict names what is true of both: a genuine
    signature on other bytes (another report, another signing of this one) is not this
    report's file."""
    digest = selectors.sha256_of([data])
    matches = selectors.digest_matches(report, digest)
    check = validation.pdf_validate(data, trust=validation.portal_trust())
    if matches:
        verdict = "identical"
        if check.outcome != validation.Outcome.GENUINE:
            # The issued bytes no longer validate: a replaced certificate, most likely.
            logger.warning(
                "the issued file of report %s reads as %s: %s",
                report.number,
                check.outcome,
                check.detail,
            )
    elif check.outcome == validation.Outcome.GENUINE:
        verdict = "genuine_other_file"
    else:
        verdict = check.outcome.value
    return {
        "uploaded_name": name,
        "uploaded_sha256": digest,
        "matches": matches,
        "check": check,
        "verdict": verdict,
    }


@_public
@require_GET
def verify_lookup(request: HttpRequest) -> HttpResponse:
    code = selectors.code_normalise(request.GET.get("code", ""))
    if code:
        if selectors.CODE_PATTERN.match(code):
            return redirect("certified:verify", code)
        return render(
            request, "certified/verify/lookup.html", {"code": request.GET["code"], "bad": True}
        )
    return render(request, "certified/verify/lookup.html", {})


# Anyone may post a file here, so its size is judged before a byte of it is read: by the length
# the request declares (``max_body``: Django never reads past it), then by the upload handler
# while reading. The view is exempt from CSRF checking, which would read the body before the
# rate limit is asked: the comparison changes nothing, so a forged request could do no harm.
@max_body(lambda: selectors.UPLOAD_MAX_BYTES)
@csrf_exempt
@_public
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, code: str) -> HttpResponse:
    report = selectors.report_for_code(code)
    if report is None:
        return render(request, "certified/verify/not_found.html", {}, status=404)
    if selectors.code_normalise(code) != code:
        return redirect("certified:verify", report.verification_code)
    valid_until = report.valid_until
    context: dict[str, Any] = {
        "report": report,
        "c": report.content,
        "valid_until": valid_until,
        # Shown as expired, not changed: the status says whether it was revoked or replaced.
        "expired": valid_until is not None and timezone.localdate() > valid_until,
    }
    status = 200
    if request.method == "POST":
        limit = selectors.UPLOAD_MAX_BYTES
        too_large = _("This file is far larger than any issued report.")
        # A body declaring more was refused before this view, unread (``max_body``); the
        # handler counts what arrives.
        handler = EvidenceUploadHandler(request, limit=limit)
        request.upload_handlers = [handler]
        upload = request.FILES.get("file")
        data = None if upload is None else verification_upload_bytes(upload, limit)
        if handler.too_large or (upload is not None and data is None):
            context["upload_error"], status = too_large, 413
        elif upload is None:
            context["upload_error"], status = _("Choose the PDF file to compare."), 400
        else:
            context.update(verification_compare(report, upload.name or "", data or b""))
    context["verify_url"] = request.build_absolute_uri(
        reverse("certified:verify", args=[report.verification_code])
    )
    response = render(request, "certified/verify/verify.html", context, status=status)
    return close_unread(request, response) if status == 413 else response


# ----------------------------------------------------------------------------------------------
# The office's list of reports


def _report_listing(request: AuthenticatedRequest) -> ListQuery:
    from assessments.selectors import campaign_list_for

    campaigns = [
        (str(pk), name)
        for pk, name in campaign_list_for(user=request.user)
        .order_by("-year", "name")
        .values_list("pk", "name")
    ]
    return ListQuery(
        request.GET,
        filters=[
            Filter("campaign", _("Campaign"), "assessment__campaign_id", campaigns),
            Filter("status", _("Status"), "status", Report.Status.choices),
            Filter("state", _("File"), "state", Report.State.choices),
        ],
        search=Search(["number", "assessment__cloud__name"], label=_("Report number or cloud")),
    )


@policy.requires(Action.REPORT_MANAGE)
def report_list(request: AuthenticatedRequest) -> HttpResponseBase:
    """Every issued report, filtered by campaign, status and file state, searchable by number
    or cloud, paginated, and exported as XLSX or CSV (``?format=xlsx``)."""
    listing = _report_listing(request)
    reports = listing.apply(selectors.report_list_for(user=request.user))
    fmt = export_format(request)
    if fmt is not None:
        header = [
            _("Report number"),
            _("Cloud"),
            _("Campaign"),
            _("Language"),
            _("Status"),
            _("File"),
            _("Issued"),
            _("Issued by"),
            _("Verification code"),
        ]
        rows = (
            [
                r.number,
                r.assessment.cloud.name,
                r.assessment.campaign.name,
                r.get_language_display(),
                r.get_status_display(),
                r.get_state_display(),
                r.issued_at,
                str(r.issued_by or ""),
                r.verification_code,
            ]
            for r in reports.iterator(chunk_size=500)
        )
        return export_response(fmt, str(_("certified-reports")), header, rows)
    return render(
        request,
        "certified/report_list.html",
        {"page": paginate(request, reports), "listing": listing},
    )
