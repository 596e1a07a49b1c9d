"""Catalog pages: every signed-in role reads; admins import, publish, retire and copy.

Admin actions answer 404 to every other role, for GET and POST alike, as if they did not exist.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest

from . import selectors, services
from .catalog import CatalogInvalid, document_dump, framework_document
from .forms import CatalogUploadForm, NewDraftForm
from .models import Framework
from .templatetags.catalog_tags import bilingual


def _require_admin(request: AuthenticatedRequest) -> User:
    """The user, if the policy lets them manage catalogs; 404 for everyone else."""
    user = request.user
    if not policy.can(user, Action.CATALOG_MANAGE):
        raise Http404
    return user


def _get_framework_for_user(user: User, code: str, version: str) -> Framework:
    try:
        return selectors.framework_for_user(user=user, code=code, version=version)
    except Framework.DoesNotExist:
        raise Http404 from None


def import_errors(exc: ValidationError) -> list[str]:
    """What a failed import shows: one line per catalog error, or the error's messages."""
    if isinstance(exc, CatalogInvalid):
        return [str(error) for error in exc.errors]
    return exc.messages


def imported_redirect(request: AuthenticatedRequest, result: services.ImportResult) -> HttpResponse:
    """After an import: its summary as a message, then the imported version's page."""
    messages.success(request, result.describe())
    return redirect(
        "indicators:framework_detail", code=result.framework.code, version=result.framework.version
    )


@login_required
def framework_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    frameworks = list(selectors.framework_list(user=user))
    return render(
        request,
        "indicators/framework_list.html",
        {"frameworks": frameworks, "is_admin": policy.can(user, Action.CATALOG_MANAGE)},
    )


def _weight_chart(framework: Framework) -> list[dict[str, Any]]:
    """Bars for the dimension-weight chart, or requirement counts when there are no weights."""
    rows: list[dict[str, Any]] = []
    for dimension in framework.dimensions.all():
        indicators = list(dimension.indicators.all())
        if framework.total_weight:
            value = dimension.weight
            if value is None:
                value = sum((i.weight or Decimal(0) for i in indicators), Decimal(0))
        else:
            value = Decimal(len(indicators))
        rows.append(
            {
                "code": dimension.code,
                "label": bilingual(dimension, "name"),
                "value": value,
                "mandatory": sum(1 for i in indicators if i.is_mandatory),
                "graded": sum(1 for i in indicators if i.requirement_type == "G"),
            }
        )
    largest = max((row["value"] for row in rows), default=Decimal(0)) or Decimal(1)
    for n, row in enumerate(rows):
        row["y"] = n * 30
        row["width"] = round(float(row["value"] / largest) * 260, 1)
        row["mandatory_width"] = round(float(Decimal(row["mandatory"]) / largest) * 260, 1)
        row["value_x"] = 190 + row["width"] + 8
    return rows


@login_required
def framework_detail(request: AuthenticatedRequest, code: str, version: str) -> HttpResponse:
    user = request.user
    framework = _get_framework_for_user(user, code, version)
    chart = _weight_chart(framework)
    indicator_count = sum(len(d.indicators.all()) for d in framework.dimensions.all())
    key_count = sum(1 for d in framework.dimensions.all() for i in d.indicators.all() if i.is_key)
    return render(
        request,
        "indicators/framework_detail.html",
        {
            "framework": framework,
            "versions": list(selectors.framework_versions(user=user, code=code)),
            "chart": chart,
            "chart_height": len(chart) * 30,
            "indicator_count": indicator_count,
            "key_count": key_count,
            "is_admin": policy.can(user, Action.CATALOG_MANAGE),
        },
    )


@login_required
def framework_export(request: AuthenticatedRequest, code: str, version: str) -> HttpResponse:
    user = request.user
    framework = _get_framework_for_user(user, code, version)
    response = HttpResponse(
        document_dump(framework_document(framework)), content_type="application/yaml"
    )
    response["Content-Disposition"] = f'attachment; filename="{code}-{version}.yaml"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def framework_upload(request: AuthenticatedRequest) -> HttpResponse:
    user = _require_admin(request)
    errors: list[str] = []
    form = CatalogUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.framework_import(
                source=upload.read(),
                filename=upload.name,
                acting_user=user,
                publish=form.cleaned_data["publish"],
            )
        except ValidationError as exc:
            errors = import_errors(exc)
        else:
            return imported_redirect(request, result)
    status = 400 if errors or form.errors else 200
    return render(
        request, "indicators/framework_upload.html", {"form": form, "errors": errors}, status=status
    )


def _state_change(
    request: AuthenticatedRequest, code: str, version: str, *, action: str
) -> HttpResponse:
    user = _require_admin(request)
    framework = _get_framework_for_user(user, code, version)
    if request.method == "POST":
        try:
            if action == "publish":
                services.framework_publish(framework=framework, acting_user=user)
                messages.success(request, _("Published. This version can no longer change."))
            else:
                services.framework_retire(framework=framework, acting_user=user)
                messages.success(request, _("Retired."))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect("indicators:framework_detail", code=code, version=version)
    return render(
        request,
        "indicators/framework_confirm.html",
        {"framework": framework, "action": action},
    )


@login_required
@require_http_methods(["GET", "POST"])
def framework_publish(request: AuthenticatedRequest, code: str, version: str) -> HttpResponse:
    return _state_change(request, code, version, action="publish")


@login_required
@require_http_methods(["GET", "POST"])
def framework_retire(request: AuthenticatedRequest, code: str, version: str) -> HttpResponse:
    return _state_change(request, code, version, action="retire")


@login_required
@require_http_methods(["GET", "POST"])
def framework_new_draft(request: AuthenticatedRequest, code: str, version: str) -> HttpResponse:
    user = _require_admin(request)
    framework = _get_framework_for_user(user, code, version)
    form = NewDraftForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            draft = services.framework_new_draft(
                framework=framework, version=form.cleaned_data["version"], acting_user=user
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for message in exc.message_dict.get("version", []):
                    form.add_error("version", message)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("New draft created."))
            return redirect("indicators:framework_detail", code=draft.code, version=draft.version)
    return render(
        request, "indicators/framework_new_draft.html", {"framework": framework, "form": form}
    )
