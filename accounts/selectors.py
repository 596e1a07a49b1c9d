from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import CharField, Count, Sum, Value
from django.utils import timezone

from .models import Organisation, User


def user_counts_by_role() -> dict[str, int]:
    """Active users per role, every role present (zero where none)."""
    counts = dict(User.objects.filter(is_active=True).values_list("role").annotate(n=Count("id")))
    return {role: counts.get(role, 0) for role in User.Role.values}


def organisation_counts_by_kind() -> dict[str, int]:
    counts = dict(Organisation.objects.values_list("kind").annotate(n=Count("id")))
    return {kind: counts.get(kind, 0) for kind in Organisation.Kind.values}


def directory_counts() -> tuple[dict[str, int], dict[str, int]]:
    """``user_counts_by_role()`` and ``organisation_counts_by_kind()`` in one query (a UNION
    ALL of the two counts), for the admin's dashboard."""
    users = (
        User.objects.filter(is_active=True)
        .order_by()
        .values_list(Value("user", output_field=CharField()), "role")
        .annotate(n=Count("id"))
    )
    organisations = (
        Organisation.objects.order_by()
        .values_list(Value("organisation", output_field=CharField()), "kind")
        .annotate(n=Count("id"))
    )
    found: dict[str, dict[str, int]] = {"user": {}, "organisation": {}}
    for table, key, n in users.union(organisations, all=True):
        found[table][key] = n
    return (
        {role: found["user"].get(role, 0) for role in User.Role.values},
        {kind: found["organisation"].get(kind, 0) for kind in Organisation.Kind.values},
    )


def lockout_counts() -> tuple[int, int]:
    """How many accounts and how many client addresses are locked out of signing in now (their
    failed attempts within the cool-off reach ``AXES_FAILURE_LIMIT``), for the security
    administrator's dashboard. Two queries."""
    recent = AccessAttempt.objects.filter(
        attempt_time__gt=timezone.now() - settings.AXES_COOLOFF_TIME
    )
    limit = int(settings.AXES_FAILURE_LIMIT)
    accounts = (
        recent.exclude(username=None)
        .values("username")
        .annotate(n=Sum("failures_since_start"))
        .filter(n__gte=limit)
        .count()
    )
    addresses = (
        recent.exclude(ip_address=None)
        .values("ip_address")
        .annotate(n=Sum("failures_since_start"))
        .filter(n__gte=limit)
        .count()
    )
    return accounts, addresses
