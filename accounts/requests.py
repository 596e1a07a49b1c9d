"""The request a signed-in view receives, for the type checker: ``request.user`` is a ``User``
(not ``User | AnonymousUser``) behind ``login_required`` and ``policy.requires``."""

from __future__ import annotations

from django.http import HttpRequest

from .models import User


class AuthenticatedRequest(HttpRequest):
    user: User
