"""The user's own API tokens: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .api_tokens import api_token_create, api_token_revoke
from .models import ApiToken, User

VALIDITY_CHOICES = [
    (30, gettext_lazy("30 days")),
    (90, gettext_lazy("90 days")),
    (365, gettext_lazy("1 year")),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What uses it, for example “省大数据局看板” or “CI upload script”."),
    )
    days = forms.TypedChoiceField(
        label=gettext_lazy("Valid for"), choices=VALIDITY_CHOICES, coerce=int, initial=365
    )


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User), "login_required lets only signed-in users here"
    return user


def _page(
    request: HttpRequest, form: TokenForm, *, secret: str = "", status: int = 200
) -> HttpResponse:
    user = _user(request)
    tokens = list(ApiToken.objects.filter(user=user))
    return render(
        request,
        "registration/api_tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "secret": secret,
            "default_days": settings.API_TOKEN_DEFAULT_DAYS,
        },
        status=status,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The list and the form; a created token's secret is shown on the response to the POST
    only (never cached, never stored)."""
    if request.method != "POST":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if form.is_valid():
        user = _user(request)
        try:
            _, secret = api_token_create(
                user=user,
                name=form.cleaned_data["name"],
                days=form.cleaned_data["days"],
                acting_user=user,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, field_errors in error.error_dict.items():
                    for field_error in field_errors:
                        form.add_error(field if field in form.fields else None, field_error)
            else:
                form.add_error(None, error)
        else:
            return _page(request, TokenForm(), secret=secret)
    return _page(request, form, status=400)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Asks first (systems using the token stop working at once), then revokes."""
    user = _user(request)
    token = get_object_or_404(ApiToken, pk=pk, user=user)
    if request.method == "POST" and token.revoked_at is None:
        api_token_revoke(token=token, acting_user=user)
        messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
        return redirect("accounts:api_tokens")
    if token.revoked_at is not None:
        return redirect("accounts:api_tokens")
    return render(request, "registration/api_token_revoke.html", {"token": token})
