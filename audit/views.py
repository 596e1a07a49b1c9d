from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest

from . import describe, exports
from .models import AuditVerification
from .selectors import AuditFilters, audit_actor_names, audit_event_list, audit_object_types
from .tasks import seal_and_verify_task

PAGE_SIZES = (25, 50, 100, 200)


class FilterForm(forms.Form):
    """The trail's filters, from the query string. Every field is optional; an invalid one is
    reported and left out of the filter."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    action = forms.CharField(label=_("What"), required=False, max_length=100)
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=100)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    related = forms.BooleanField(label=_("With related objects"), required=False)
    per_page = forms.TypedChoiceField(
        label=_("Per page"),
        required=False,
        coerce=int,
        choices=[(n, n) for n in PAGE_SIZES],
        empty_value=None,
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        if data.get("object_id") and not data.get("object_type"):
            self.add_error("object_type", _("Choose the type of the object too."))
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data if self.is_bound else {}
        return AuditFilters(
            actor=(data.get("actor") or "").strip(),
            action=(data.get("action") or "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            object_type=(data.get("object_type") or "").strip(),
            object_id=(data.get("object_id") or "").strip() if data.get("object_type") else "",
            related=bool(data.get("related")),
            search=(data.get("q") or "").strip(),
        )


def _form(request: AuthenticatedRequest) -> FilterForm:
    form = FilterForm(request.GET)
    form.is_valid()  # fills cleaned_data with the valid fields and errors for the others
    return form


@policy.requires(Action.AUDIT_VIEW)
def event_list(request: AuthenticatedRequest) -> HttpResponse:
    """The audit trail in words, filtered by who, what, when and object; newest first."""
    user = request.user
    form = _form(request)
    filters = form.filters()
    per_page = form.cleaned_data.get("per_page") or 50
    page = Paginator(audit_event_list(user=user, filters=filters), per_page).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "events": describe.described(list(page.object_list)),
            "actors": audit_actor_names(user=user),
            "action_groups": describe.action_groups(),
            "object_types": [(t, describe.kind_label(t)) for t in audit_object_types(user=user)],
            "page_sizes": PAGE_SIZES,
            "per_page": per_page,
            "export_query": query.urlencode(),
            "object_kind": describe.kind_label(filters.object_type) if filters.object_type else "",
            "chain_check": AuditVerification.objects.first(),
        },
    )


@require_POST
@policy.requires(Action.AUDIT_VIEW)
def chain_check(request: AuthenticatedRequest) -> HttpResponse:
    """Queues a check of the whole hash chain (it only reads the trail); the page shows the
    result when it is done."""
    seal_and_verify_task.delay(requested_by=request.user.get_username())
    messages.success(
        request,
        _("The check of the chain has started. Its result appears here when it is done."),
    )
    return redirect("audit:event_list")


@policy.requires(Action.AUDIT_VIEW)
def event_export(request: AuthenticatedRequest, fmt: str) -> HttpResponse:
    """The filtered trail (every page) as CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    events = audit_event_list(user=request.user, filters=_form(request).filters()).iterator(
        chunk_size=exports.CHUNK
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        response = HttpResponse(exports.csv_bytes(events), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.xlsx_bytes(events),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.{fmt}"'
    return response
