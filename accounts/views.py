from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from assessments import selectors as assessment_selectors
from audit.selectors import audit_event_list

from . import selectors, services
from .models import Organisation, User


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.user_record_login(user=form.get_user())
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            services.user_record_logout(user=request.user)
        return super().post(request, *args, **kwargs)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, Any] = {"role_template": f"accounts/partials/_dashboard_{user.role}.html"}
    if user.role == User.Role.ADMIN:
        roles = selectors.user_counts_by_role()
        kinds = selectors.organisation_counts_by_kind()
        context["user_counts"] = [(User.Role(r).label, n) for r, n in roles.items()]
        context["organisation_counts"] = [(Organisation.Kind(k).label, n) for k, n in kinds.items()]
    if user.role in (User.Role.ADMIN, User.Role.AUDITOR):
        context["recent_events"] = list(audit_event_list(user=user)[:10])
    if user.role == User.Role.ADMIN:
        context["campaigns"] = list(assessment_selectors.campaign_list_for(user=user)[:5])
    elif user.role != User.Role.AUDITOR:
        context["assessments"] = list(
            assessment_selectors.assessment_list_for(user=user).order_by(
                "-campaign__year", "cloud__name"
            )[:10]
        )
    return render(request, "accounts/dashboard.html", context)
