from __future__ import annotations

from django.db.models import Count

from .models import Organisation, User


def user_counts_by_role() -> dict[str, int]:
    """Active users per role, every role present (zero where none)."""
    counts = dict(User.objects.filter(is_active=True).values_list("role").annotate(n=Count("id")))
    return {role: counts.get(role, 0) for role in User.Role.values}


def organisation_counts_by_kind() -> dict[str, int]:
    counts = dict(Organisation.objects.values_list("kind").annotate(n=Count("id")))
    return {kind: counts.get(kind, 0) for kind in Organisation.Kind.values}
