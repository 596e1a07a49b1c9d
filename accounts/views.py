from __future__ import annotations

from typing import Any

from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from . import services
from .twofactor import selectors as two_factor
from .twofactor.views import with_next


class LoginView(auth_views.LoginView):
    """The password step. A user who must pass a second factor (their role requires it, or
    they set up an authenticator app) is signed in but sent to the code step, where the sign-in
    is recorded; until then every page sends them back there (``TwoFactorMiddleware``)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not (two_factor.otp_required(user) or two_factor.totp_device_for(user)):
            response = super().form_valid(form)
            services.user_record_login(user=user)
            return response
        auth_login(self.request, user)
        self.request.session[two_factor.PENDING_SESSION_KEY] = True
        return HttpResponseRedirect(with_next("accounts:two_factor_verify", self.get_success_url()))


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            services.user_record_logout(user=request.user)
        return super().post(request, *args, **kwargs)
