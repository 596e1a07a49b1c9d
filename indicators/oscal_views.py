"""Catalogs as OSCAL: every reader downloads a version's catalog; admins import one as a draft.

The conversion is ``indicators.oscal``; the mapping is documented in ``docs/oscal.md``.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from accounts import policy
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from govcloud_eval.limits import max_body

from . import selectors
from .forms import version_field
from .models import CODE_PATTERN, Framework
from .oscal import (
    MAX_OSCAL_BYTES,
    MEDIA_TYPE,
    OscalImportReport,
    framework_oscal,
    oscal_dump,
    oscal_filename,
    oscal_import,
)
from .views import import_errors


class OscalImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("OSCAL catalog (JSON)"),
        help_text=gettext_lazy("An OSCAL 1.x catalog in JSON; at most 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    code = forms.CharField(
        label=gettext_lazy("Framework code"),
        required=False,
        max_length=64,
        validators=[
            RegexValidator(
                CODE_PATTERN, gettext_lazy("Use lower-case letters, digits and dashes only.")
            )
        ],
        help_text=gettext_lazy(
            "Leave empty to use the code the file gives (or one made from its name)."
        ),
    )
    version = version_field(
        label=gettext_lazy("Version"),
        required=False,
        help_text=gettext_lazy("Leave empty to use the version in the file's metadata."),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_OSCAL_BYTES:
            raise forms.ValidationError(gettext_lazy("The file is larger than 5 MB."))
        return upload


@require_safe
@policy.requires(Action.CATALOG_VIEW)
def framework_oscal_export(request: AuthenticatedRequest, code: str, version: str) -> HttpResponse:
    """The OSCAL catalog of one version; drafts only for those who may read drafts (404)."""
    try:
        framework = selectors.framework_for_user(user=request.user, code=code, version=version)
    except Framework.DoesNotExist:
        raise Http404 from None
    response = HttpResponse(oscal_dump(framework_oscal(framework)), content_type=MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{oscal_filename(framework)}"'
    return response


@max_body(MAX_OSCAL_BYTES)
@require_http_methods(["GET", "POST"])
@policy.requires(Action.CATALOG_MANAGE)
def framework_oscal_import(request: AuthenticatedRequest) -> HttpResponse:
    """GET: the upload form. POST: the import as a draft, then the list of what was not carried
    and of the placeholders to complete; or the errors, nothing saved."""
    errors: list[str] = []
    form = OscalImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imported = oscal_import(
                source=upload.read(),
                filename=upload.name,
                acting_user=request.user,
                code=form.cleaned_data["code"],
                version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            errors = import_errors(exc)
        else:
            report = imported.report
            return render(
                request,
                "indicators/oscal_import.html",
                {
                    "form": OscalImportForm(),
                    "result": imported.result,
                    "framework": imported.result.framework,
                    "not_carried": OscalImportReport.lines(report.not_carried),
                    "adapted": OscalImportReport.lines(report.adapted),
                    "placeholders": OscalImportReport.lines(report.placeholders),
                },
            )
    status = 400 if errors or form.errors else 200
    return render(
        request, "indicators/oscal_import.html", {"form": form, "errors": errors}, status=status
    )
