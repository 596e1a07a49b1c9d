from __future__ import annotations

from django.urls import path

from . import views
from .twofactor import views as two_factor

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/two-factor/", two_factor.two_factor_verify, name="two_factor_verify"),
    path("login/two-factor/setup/", two_factor.two_factor_setup, name="two_factor_setup"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", two_factor.two_factor_manage, name="two_factor"),
    path(
        "account/two-factor/recovery-codes/",
        two_factor.recovery_codes_regenerate,
        name="two_factor_recovery_codes",
    ),
]
