"""Reads of indicator catalogs.

Every signed-in role may read published and retired frameworks (assessors score against them,
vendors and owners read what they are assessed on, auditors check). Drafts are work in progress
of the evaluation office: only admins see them.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet

from accounts import policy
from accounts.models import User

from .models import Dimension, Framework, Indicator, VetoRule


def _visible(user: User | AnonymousUser) -> Q:
    """Drafts for admins only; nothing for anonymous visitors (``policy.framework_scope``)."""
    return policy.framework_scope(user).q


def framework_list(*, user: User | AnonymousUser) -> QuerySet[Framework]:
    """The frameworks ``user`` may read, grouped by code, newest version first, with counts."""
    return (
        Framework.objects.filter(_visible(user))
        .annotate(
            dimension_count=Count("dimensions", distinct=True),
            indicator_count=Count("indicators", distinct=True),
        )
        .order_by("code", "-created_at", "-id")
    )


def _tree_prefetches() -> list[Prefetch | str]:
    return [
        Prefetch(
            "dimensions",
            queryset=Dimension.objects.order_by("order").prefetch_related(
                Prefetch(
                    "indicators",
                    queryset=Indicator.objects.order_by("order").prefetch_related("rubric"),
                )
            ),
        ),
        "levels",
        Prefetch("vetoes", queryset=VetoRule.objects.select_related("cap_level")),
    ]


def framework_tree_queryset(*, user: User | AnonymousUser) -> QuerySet[Framework]:
    """Readable frameworks with the whole tree prefetched: a constant number of queries."""
    return (
        Framework.objects.filter(_visible(user))
        .select_related("pass_rule", "based_on")
        .prefetch_related(*_tree_prefetches())
    )


def framework_for_user(*, user: User, code: str, version: str) -> Framework:
    """One framework with its tree; raises ``Framework.DoesNotExist`` when ``user`` may not read
    it, so that views answer 404 alike for missing and hidden versions."""
    return framework_tree_queryset(user=user).get(code=code, version=version)


def framework_with_tree(*, pk: int) -> Framework:
    """One framework with its tree, whatever its state (for services and exports)."""
    return (
        Framework.objects.select_related("pass_rule")
        .prefetch_related(*_tree_prefetches())
        .get(pk=pk)
    )


def framework_versions(*, user: User, code: str) -> QuerySet[Framework]:
    """The other versions of one framework code that ``user`` may read."""
    return (
        Framework.objects.filter(_visible(user), code=code)
        .only("code", "version", "state", "created_at")
        .order_by("-created_at", "-id")
    )
