"""The authentication backend: Django's, except that the user of a request is read with their
organisation in the same query (every page's header names it), and with the ids of their
confirmed two-factor devices, so that checking a session's second factor costs no query of its
own (``accounts.twofactor.middleware.OTPMiddleware``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from .models import User
from .twofactor.selectors import device_id_columns


class UserBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            user = (
                User._default_manager.select_related("organisation")
                .annotate(**device_id_columns())
                .get(pk=user_id)
            )
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
