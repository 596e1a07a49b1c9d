"""The register of government clouds: list, detail, create and edit, archive, import.

Admins manage clouds (``cloud.manage``); auditors may read the list and each cloud's page
(``cloud.view``); every other role gets 404, as if the pages did not exist. The views parse
input and call ``services``; the rules live there and in ``cloud_import``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _

from accounts import policy
from accounts.divisions import division_lookup
from accounts.models import Organisation
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from govcloud_eval.limits import max_body
from govcloud_eval.listing import export_format, export_response, paginate

from .. import cloud_import, services
from ..forms import CloudForm, CloudImportForm, add_service_error
from ..models import Assessment, Cloud
from . import lists
from .campaigns import post_only


def cloud_list_queryset(*, search: str = "") -> QuerySet[Cloud]:
    """Every cloud with its owner, vendors and number of campaigns, in division-code order;
    ``search`` matches the Chinese or English name. A fixed number of queries.

    ``n_campaigns`` is a subquery, not a joined count: PostgreSQL works it out for the rows of
    the page only, after sorting, where a join and GROUP BY counted every cloud's assessments
    before it could sort (docs/performance.md)."""
    campaigns = (
        Assessment.objects.filter(cloud=OuterRef("pk"))
        .order_by()
        .values("cloud")
        .annotate(n=Count("pk"))
        .values("n")
    )
    clouds = (
        Cloud.objects.select_related("owner")
        .prefetch_related(Prefetch("vendors", queryset=Organisation.objects.order_by("name")))
        .annotate(n_campaigns=Coalesce(Subquery(campaigns, output_field=IntegerField()), 0))
        .order_by("owner__division_code", "name")
    )
    search = search.strip()
    if search:
        clouds = clouds.filter(Q(name__icontains=search) | Q(name_en__icontains=search))
    return clouds


def _get_cloud(pk: int) -> Cloud:
    return get_object_or_404(Cloud.objects.select_related("owner"), pk=pk)


def _division_name(code: str) -> str:
    """The division's Chinese name, after its province's when it is not one (山东 · 济南)."""
    division = division_lookup(code)
    if division is None:
        return ""
    province = division_lookup(division.province_code)
    if province is None or province.code == division.code:
        return division.name_zh
    return f"{province.name_zh} · {division.name_zh}"


@policy.requires(Action.CLOUD_VIEW)
def cloud_list(request: AuthenticatedRequest) -> HttpResponseBase:
    """The register, filtered (level, province, archived) and searched by name (``?q=``),
    paginated, and exported as XLSX or CSV (``?format=xlsx``)."""
    listing = lists.cloud_listing(request.GET)
    rows = listing.apply(cloud_list_queryset())
    fmt = export_format(request)
    if fmt is not None:
        return export_response(fmt, _("clouds"), *lists.cloud_table(rows))
    page = paginate(request, rows)
    return render(
        request,
        "assessments/cloud_list.html",
        {
            "page": page,
            "clouds": list(page.object_list),
            "listing": listing,
            "search": listing.query,
        },
    )


@policy.requires(Action.CLOUD_VIEW)
def cloud_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A cloud's facts and its assessments across campaigns, newest first."""
    cloud = _get_cloud(pk)
    assessments = list(
        Assessment.objects.filter(cloud=cloud)
        .select_related("campaign__framework")
        .order_by("-campaign__year", "-campaign__created_at")
    )
    return render(
        request,
        "assessments/cloud_detail.html",
        {
            "cloud": cloud,
            "division_name": _division_name(cloud.owner.division_code),
            "vendors": list(cloud.vendors.order_by("name")),
            "assessments": assessments,
            "running": services.cloud_running_campaigns(cloud=cloud),
        },
    )


def _form_page(
    request: AuthenticatedRequest, form: CloudForm, cloud: Cloud | None, status: int
) -> HttpResponse:
    return render(
        request,
        "assessments/cloud_form.html",
        {
            "form": form,
            "cloud": cloud,
            "running": services.cloud_running_campaigns(cloud=cloud) if cloud else [],
            "current_vendors": list(cloud.vendors.order_by("name")) if cloud else [],
        },
        status=status,
    )


def _save(request: AuthenticatedRequest, cloud: Cloud | None) -> HttpResponse:
    if request.method == "POST":
        form = CloudForm(request.POST)
    elif cloud is not None:
        form = CloudForm(initial=CloudForm.initial_for(cloud))
    else:
        form = CloudForm(initial={"level": Cloud.Level.MUNICIPAL, "on_extranet": True})
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.cloud_save(cloud=cloud, facts=form.facts(), acting_user=request.user)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            message = _("%(cloud)s saved.") if cloud else _("%(cloud)s registered.")
            messages.success(request, message % {"cloud": saved.name})
            return redirect("assessments:cloud_detail", pk=saved.pk)
    return _form_page(request, form, cloud, 400 if request.method == "POST" else 200)


@policy.requires(Action.CLOUD_MANAGE)
def cloud_create(request: AuthenticatedRequest) -> HttpResponse:
    return _save(request, None)


@policy.requires(Action.CLOUD_MANAGE)
def cloud_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _save(request, _get_cloud(pk))


@policy.requires(Action.CLOUD_MANAGE)
def cloud_archive(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST archives."""
    cloud = _get_cloud(pk)
    if request.method == "POST":
        try:
            services.cloud_archive(cloud=cloud, acting_user=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("%(cloud)s archived. It keeps its history; unarchive it to add it to a campaign.")
                % {"cloud": cloud.name},
            )
        return redirect("assessments:cloud_detail", pk=cloud.pk)
    return render(
        request,
        "assessments/cloud_archive.html",
        {"cloud": cloud, "running": services.cloud_running_campaigns(cloud=cloud)},
    )


@policy.requires(Action.CLOUD_MANAGE)
@post_only
def cloud_unarchive(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    cloud = _get_cloud(pk)
    try:
        services.cloud_unarchive(cloud=cloud, acting_user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(cloud)s is active again and can be added to campaigns.") % {"cloud": cloud.name},
        )
    return redirect("assessments:cloud_detail", pk=cloud.pk)


# ----------------------------------------------------------------------------------------------
# Import


def _import_page(request: AuthenticatedRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("form", CloudImportForm())
    context.setdefault("file_errors", [])
    context.setdefault("plan", None)
    context["columns"] = cloud_import.COLUMNS
    return render(request, "assessments/cloud_import.html", context, status=status)


@max_body(cloud_import.MAX_BYTES)
@policy.requires(Action.CLOUD_MANAGE)
def cloud_import_view(request: AuthenticatedRequest) -> HttpResponse:
    """GET: the upload form. POST a file: the preview of every row, with its errors. POST the
    preview's payload (``confirm``): the import, all or nothing."""
    if request.method != "POST":
        return _import_page(request)
    if "payload" in request.POST:
        return _import_confirm(request)
    form = CloudImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_page(request, 400, form=form)
    upload = form.cleaned_data["file"]
    if upload.size > cloud_import.MAX_BYTES:
        return _import_page(
            request,
            400,
            form=form,
            file_errors=[
                _("The file is larger than %(mb)s MB.")
                % {"mb": cloud_import.MAX_BYTES // (1024 * 1024)}
            ],
        )
    try:
        table = cloud_import.read_table(upload.read())
    except ValidationError as exc:
        return _import_page(request, 400, form=form, file_errors=exc.messages)
    plan = cloud_import.plan_import(table)
    return _import_page(request, 200 if plan.ok else 400, plan=plan, file_name=upload.name)


def _import_confirm(request: AuthenticatedRequest) -> HttpResponse:
    try:
        table = cloud_import.read_payload(request.POST["payload"])
    except ValidationError as exc:
        return _import_page(request, 400, file_errors=exc.messages)
    # Checked again: the register may have changed since the preview.
    plan = cloud_import.plan_import(table)
    if not plan.ok:
        return _import_page(request, 400, plan=plan, file_name=request.POST.get("file_name", ""))
    try:
        created, changed = services.clouds_import(
            rows=plan.service_rows(), acting_user=request.user
        )
    except ValidationError as exc:
        return _import_page(request, 400, plan=plan, file_errors=exc.messages)
    messages.success(
        request,
        _("Import done: %(created)s clouds registered, %(changed)s changed.")
        % {"created": created, "changed": changed},
    )
    return redirect("assessments:cloud_list")


@policy.requires(Action.CLOUD_MANAGE)
def cloud_import_template(request: AuthenticatedRequest, fmt: str) -> HttpResponse:
    """The import template with its header row: ``xlsx`` or ``csv``."""
    if fmt == "xlsx":
        response = HttpResponse(
            cloud_import.template_xlsx(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    elif fmt == "csv":
        response = HttpResponse(cloud_import.template_csv(), content_type="text/csv; charset=utf-8")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="clouds-template.{fmt}"'
    return response


urlpatterns: list[URLPattern] = [
    path("clouds/", cloud_list, name="cloud_list"),
    path("clouds/new/", cloud_create, name="cloud_create"),
    path("clouds/import/", cloud_import_view, name="cloud_import"),
    path("clouds/import/template/<str:fmt>/", cloud_import_template, name="cloud_import_template"),
    path("clouds/<int:pk>/", cloud_detail, name="cloud_detail"),
    path("clouds/<int:pk>/edit/", cloud_edit, name="cloud_edit"),
    path("clouds/<int:pk>/archive/", cloud_archive, name="cloud_archive"),
    path("clouds/<int:pk>/unarchive/", cloud_unarchive, name="cloud_unarchive"),
]
