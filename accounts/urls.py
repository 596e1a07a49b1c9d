from __future__ import annotations

from django.urls import path

from . import token_views, views
from .twofactor import views as two_factor

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/two-factor/", two_factor.two_factor_verify, name="two_factor_verify"),
    path("login/two-factor/setup/", two_factor.two_factor_setup, name="two_factor_setup"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", two_factor.two_factor_manage, name="two_factor"),
    path("account/api-tokens/", token_views.api_tokens, name="api_tokens"),
    path(
        "account/api-tokens/<int:pk>/revoke/",
        token_views.api_token_revoke_view,
        name="api_token_revoke",
    ),
    path(
        "account/two-factor/recovery-codes/",
        two_factor.recovery_codes_regenerate,
        name="two_factor_recovery_codes",
    ),
]
