"""Personal API tokens: created, named and revoked by their owner in the browser, and the DRF
authentication that reads them (``Authorization: Bearer gce_…``).

A token acts as its owner with the owner's role, under the same access policy as the pages. Only
a session that passed the second factor may create one (the token pages are behind
``TwoFactorMiddleware`` like every page); a token request carries no session, so it is not
asked for a code.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from audit.services import audit_record

from .models import ApiToken, User

KEYWORD = "Bearer"
MAX_TOKENS = 20
# Writing last_used_at on every request would make each API call a write: once a minute is
# enough to show the owner whether a token is in use.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, name: str, days: int | None = None, acting_user: User
) -> tuple[ApiToken, str]:
    """Creates a token for ``user`` and returns it with its secret, which is shown once and
    never stored. ``days`` of validity (default ``API_TOKEN_DEFAULT_DAYS``; 0 or less refused).
    Raises ValidationError naming the problem (a blank or duplicated name, too many tokens)."""
    if acting_user.pk != user.pk:
        raise ValidationError(_("Only the owner of an account may create its API tokens."))
    name = " ".join(name.split())
    if not name:
        raise ValidationError(
            {"name": _("Give the token a name, for example the system using it.")}
        )
    if len(name) > 100:
        raise ValidationError({"name": _("The name is longer than 100 characters.")})
    User.objects.select_for_update().filter(pk=user.pk).first()
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if active.filter(name=name).exists():
        raise ValidationError(
            {"name": _("You already have a token named “%(name)s”.") % {"name": name}}
        )
    if active.count() >= MAX_TOKENS:
        raise ValidationError(
            _("You have %(count)d tokens: revoke one you no longer use first.")
            % {"count": MAX_TOKENS}
        )
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if days <= 0 or days > 3650:
        raise ValidationError({"days": _("A token is valid for 1 to 3650 days.")})
    secret = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[: len(ApiToken.PREFIX) + 6],
        digest=_digest(secret),
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    audit_record(
        action="accounts.api_token.created",
        acting_user=acting_user,
        target=user,
        changes={
            "name": name,
            "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, acting_user: User) -> ApiToken:
    """Revokes a token at once (its owner's, or any by the security administrator). Revoking a
    revoked token changes nothing."""
    from . import policy

    if token.user_id != acting_user.pk:
        policy.require(acting_user, policy.Action.USER_MANAGE)
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    if updated:
        audit_record(
            action="accounts.api_token.revoked",
            acting_user=acting_user,
            target=token.user,
            changes={"name": token.name, "prefix": token.prefix},
        )
    return token


def user_for_secret(secret: str) -> tuple[User, ApiToken] | None:
    """The active token with this secret and its owner, or None."""
    if not secret.startswith(ApiToken.PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__organisation")
        .filter(digest=_digest(secret))
        .first()
    )
    if token is None or not token.is_active() or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer gce_…``. A request without that header is left to the session
    authentication; a wrong, revoked or expired token is refused (401), never treated as
    anonymous."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("The Authorization header should be “Bearer” and one token.")
            )
        try:
            secret = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        found = user_for_secret(secret)
        if found is None:
            raise exceptions.AuthenticationFailed(_("The token is unknown, revoked or expired."))
        return found

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_tokens.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (gce_…), created on the account's API tokens "
            "page.",
        }
