"""The notifications page, the language switch that remembers the user's language, and password
reset by e-mail (Django's views, branded, the e-mail in the user's language, rate-limited)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from reports.certified import ratelimit

from . import selectors, services
from .emails import public_url
from .models import Notification

logger = logging.getLogger(__name__)

PAGE_SIZE = 50


@policy.requires(Action.NOTIFICATION_VIEW)
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_for(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/notification_list.html",
        {"page": page, "notifications": page.object_list},
    )


def _own_notification(request: AuthenticatedRequest, pk: int) -> Notification:
    notification = get_object_or_404(Notification, pk=pk)
    if not policy.can(request.user, Action.NOTIFICATION_VIEW, notification):
        raise Http404
    return notification


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_POST
@policy.requires(Action.NOTIFICATION_VIEW)
def notification_open(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Marks the notification read and goes to the page it is about."""
    notification = _own_notification(request, pk)
    services.notification_mark_read(notification=notification, acting_user=request.user)
    return redirect(notification.url or reverse("notifications:list"))


@require_POST
@policy.requires(Action.NOTIFICATION_VIEW)
def notification_mark_read(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    notification = _own_notification(request, pk)
    services.notification_mark_read(notification=notification, acting_user=request.user)
    return redirect(_back(request, reverse("notifications:list")))


@require_POST
@policy.requires(Action.NOTIFICATION_VIEW)
def notifications_mark_all_read(request: AuthenticatedRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(acting_user=request.user)
    if count:
        messages.success(request, _("All notifications are marked read."))
    return redirect(reverse("notifications:list"))


def language_set(request: HttpRequest) -> HttpResponse:
    """Django's language switch; a signed-in user's choice is remembered, so that the e-mails
    the portal sends them are written in it."""
    response = set_language(request)
    user = request.user
    if request.method == "POST" and isinstance(user, User) and user.is_authenticated:
        services.user_language_set(user=user, language=request.POST.get("language", ""))
    return response


# ----------------------------------------------------------------------------------------------
# Password reset

# At most this many reset requests per client address, and per e-mail address, in a window.
RESET_RATE_LIMIT = ratelimit.RateLimit(limit=5, window=15 * 60)


class LocalisedPasswordResetForm(PasswordResetForm):
    """Django's form, with the e-mail in the recipient's language and the link on
    ``PUBLIC_BASE_URL`` (never on the request's Host header, which a client chooses)."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user = context["user"]
        assert isinstance(user, User)
        try:
            password_reset_email_send(user=user, uidb64=context["uid"], token=context["token"])
        except Exception:
            # The page says the same whether or not an e-mail went out: log, do not tell.
            logger.exception("the password reset e-mail to user %s failed", user.pk)


def password_reset_email_send(*, user: User, uidb64: str, token: str) -> None:
    """Sends ``user`` the link to set a new password (valid ``PASSWORD_RESET_TIMEOUT``), in
    their language."""
    path = reverse(
        "notifications:password_reset_confirm", kwargs={"uidb64": uidb64, "token": token}
    )
    context = {
        "user": user,
        "link": public_url(path),
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    language = user.language if user.language in services.LANGUAGES else "zh-hans"
    with translation.override(language):
        subject = render_to_string("registration/password_reset_subject.txt", context)
        text = render_to_string("registration/password_reset_email.txt", context)
        html = render_to_string("registration/password_reset_email.html", context)
    message = EmailMultiAlternatives(
        subject="".join(subject.splitlines()).strip(),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    message.attach_alternative(html, "text/html")
    message.send()


class PasswordResetView(auth_views.PasswordResetView):
    form_class = LocalisedPasswordResetForm
    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("notifications:password_reset_done")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            return redirect("dashboard")
        return super().dispatch(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = request.POST.get("email", "").strip().lower()
        limited = ratelimit.rate_limited(
            scope="password-reset",
            ident=ratelimit.client_address(request),
            rule=RESET_RATE_LIMIT,
        )
        if email:
            limited = (
                ratelimit.rate_limited(
                    scope="password-reset-email", ident=email, rule=RESET_RATE_LIMIT
                )
                or limited
            )
        if limited:
            response = render(
                request,
                "registration/password_reset_form.html",
                {"form": self.get_form(), "rate_limited": True, "minutes": 15},
                status=429,
            )
            response["Retry-After"] = str(RESET_RATE_LIMIT.window)
            return response
        return super().post(request, *args, **kwargs)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("notifications:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
