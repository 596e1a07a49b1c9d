"""Excel score sheets: the assigned assessor downloads the sheet and uploads it back.

Both answer 404 to everyone but an assessor assigned to the assessment (admins included: they
do not score), for GET and POST alike.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.requests import AuthenticatedRequest

from .. import selectors
from ..models import Assessment, Assignment
from ..scoresheet.services import score_sheet_import
from ..scoresheet.workbook import CONTENT_TYPE, score_sheet_build, score_sheet_filename

# A filled-in sheet of a few hundred indicators is well under 1 MB.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _get_assignment_for_user(
    request: AuthenticatedRequest, pk: int
) -> tuple[Assessment, Assignment]:
    assessment = selectors.assessment_get_for(user=request.user, pk=pk)
    assignment = selectors.assignment_for(user=request.user, assessment=assessment)
    if assignment is None:
        raise Http404
    assignment.assessment = assessment
    return assessment, assignment


def _scoring_url(pk: int) -> str:
    return reverse("assessments:score", args=[pk])


def _attachment(filename: str, fallback: str) -> str:
    """RFC 6266: an ASCII name for old clients, the UTF-8 name for everyone else."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


@login_required
@require_GET
def score_sheet_download(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assessment, assignment = _get_assignment_for_user(request, pk)
    response = HttpResponse(score_sheet_build(assignment=assignment), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = _attachment(
        score_sheet_filename(assignment=assignment), f"score-sheet-{assessment.pk}.xlsx"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def score_sheet_upload(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assessment, assignment = _get_assignment_for_user(request, pk)
    upload = request.FILES.get("sheet")
    errors: list[str]
    if upload is None:
        errors = [_("Choose the score sheet (.xlsx) to upload.")]
    elif (upload.size or 0) > MAX_UPLOAD_BYTES:  # the request parser always sets the size
        errors = [_("The file is larger than 5 MB; a score sheet is much smaller.")]
    else:
        try:
            saved = score_sheet_import(
                assignment=assignment,
                data=upload.read(),
                acting_user=request.user,
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(
                request,
                ngettext(
                    "Score sheet imported: %(n)s rating saved.",
                    "Score sheet imported: %(n)s ratings saved.",
                    saved,
                )
                % {"n": saved},
            )
            return redirect(_scoring_url(assessment.pk))
    return render(
        request,
        "assessments/excel_upload_errors.html",
        {
            "assessment": assessment,
            "assignment": assignment,
            "errors": errors,
            "filename": upload.name if upload is not None else "",
            "scoring_url": _scoring_url(assessment.pk),
        },
        status=400,
    )


urlpatterns: list[URLPattern] = [
    path(
        "assessments/<int:pk>/score-sheet.xlsx",
        score_sheet_download,
        name="score_sheet_download",
    ),
    path(
        "assessments/<int:pk>/score-sheet/",
        score_sheet_upload,
        name="score_sheet_upload",
    ),
]
