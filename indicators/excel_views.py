"""Catalogs as Excel workbooks: anyone who may read a framework downloads it as an xlsx
workbook; admins upload an edited workbook as a draft version (indicators/excel.py).

The upload answers 404 to every role but admins, for GET and POST alike, as if it did not exist.
"""

from __future__ import annotations

from urllib.parse import quote

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from accounts import policy
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from govcloud_eval.limits import max_body

from . import selectors, services
from .catalog import framework_document
from .excel import (
    CONTENT_TYPE,
    FRAMEWORK,
    MAX_UPLOAD_BYTES,
    CellError,
    catalog_workbook,
    cell_errors,
    workbook_catalog,
    workbook_filename,
)
from .forms import version_field
from .models import Framework
from .views import imported_redirect


class WorkbookImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Workbook (.xlsx)"),
        help_text=gettext_lazy(
            "A workbook downloaded from a framework page, edited; at most 5 MB. The layout is "
            "described in docs/catalog-format.md."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": f".xlsx,{CONTENT_TYPE}"}),
    )
    version = version_field(
        label=gettext_lazy("Version of the new draft"),
        required=False,
        help_text=gettext_lazy(
            "For example 2025.1. Leave empty to use the version on the workbook's sheet "
            "体系 Framework."
        ),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if (upload.size or 0) > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(gettext_lazy("The file is larger than 5 MB."))
        if not (upload.name or "").lower().endswith(".xlsx"):
            raise forms.ValidationError(
                gettext_lazy(
                    "This is not an Excel workbook (.xlsx). Upload the .xlsx file; a YAML catalog "
                    "file is imported with “Import a catalog file”."
                )
            )
        return upload


def _attachment(filename: str) -> str:
    """RFC 6266: the name as ASCII for old clients, in UTF-8 for everyone else."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace('"', "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


@require_safe
@policy.requires(Action.CATALOG_VIEW)
def framework_excel_export(request: AuthenticatedRequest, code: str, version: str) -> HttpResponse:
    """The workbook of one version; drafts only for those who may read drafts (404)."""
    try:
        framework = selectors.framework_for_user(user=request.user, code=code, version=version)
    except Framework.DoesNotExist:
        raise Http404 from None
    doc = framework_document(framework)
    response = HttpResponse(catalog_workbook(doc), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = _attachment(workbook_filename(doc))
    response["X-Content-Type-Options"] = "nosniff"
    return response


@max_body(MAX_UPLOAD_BYTES)
@require_http_methods(["GET", "POST"])
@policy.requires(Action.CATALOG_MANAGE)
def framework_excel_import(request: AuthenticatedRequest) -> HttpResponse:
    """GET: the upload form. POST: the workbook checked as a whole, then stored as a draft
    (``services.framework_import``, like a YAML file); or every error by sheet, row and column,
    nothing saved. A version already published or retired is refused: name a new one."""
    user = request.user
    errors: list[CellError] = []
    form = WorkbookImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        filename = upload.name or "catalog.xlsx"
        try:
            doc, source = workbook_catalog(
                upload.read(), filename=filename, version=form.cleaned_data["version"]
            )
            frozen = next(
                (
                    other
                    for other in selectors.framework_versions(user=user, code=doc["code"])
                    if other.version == doc["version"] and not other.is_editable
                ),
                None,
            )
            if frozen is not None:
                raise ValidationError(
                    _(
                        "%(code)s %(version)s is already %(state)s and never changes: enter a "
                        "new version for the draft."
                    )
                    % {
                        "code": frozen.code,
                        "version": frozen.version,
                        "state": frozen.get_state_display(),
                    },
                    code="immutable",
                )
            result = services.framework_import(source=source, filename=filename, acting_user=user)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "immutable":
                form.add_error("version", exc.messages)
            else:
                errors = list(cell_errors(exc))
        else:
            return imported_redirect(request, result)
    status = 400 if errors or form.errors else 200
    return render(
        request,
        "indicators/excel_import.html",
        {"form": form, "errors": errors, "framework_sheet": FRAMEWORK},
        status=status,
    )
