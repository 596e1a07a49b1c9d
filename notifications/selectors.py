"""Reads of notifications: always one user's own."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User

from .models import Notification


def notifications_for(*, user: User) -> QuerySet[Notification]:
    """``user``'s notifications, newest first."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def unread_count_for_request(request: HttpRequest) -> int:
    """The signed-in user's unread count, counted once per request (the menu of every page
    asks); 0 for anonymous visitors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    # The request's own attributes: gone with the request, never shared between users.
    memo = request.__dict__
    if "_unread_notifications" not in memo:
        assert isinstance(user, User)
        memo["_unread_notifications"] = unread_count(user=user)
    return int(memo["_unread_notifications"])
