"""The filters, search and export columns of the workflow's long lists (assessments,
campaigns), built on ``govcloud_eval.listing``. The views stay small: they read a listing from
the query string, apply it to a selector's queryset, and page or export the result."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from accounts.divisions import division_lookup
from accounts.models import User
from govcloud_eval.listing import Filter, ListQuery, Search, annotated
from indicators.models import LevelRule

from .. import selectors
from ..models import Assessment, Campaign, Cloud

Table = tuple[Sequence[str | Promise], Iterator[list[Any]]]


def _is_chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


@cache
def _province_codes() -> tuple[str, ...]:
    """The two-digit prefixes of every published province (GB/T 2260: 11 Beijing … 82 Macao)."""
    return tuple(f"{n:02d}" for n in range(11, 83) if division_lookup(f"{n:02d}0000"))


def province_choices() -> list[tuple[str, str]]:
    chinese = _is_chinese()
    choices = []
    for prefix in _province_codes():
        division = division_lookup(f"{prefix}0000")
        if division is not None:
            choices.append((prefix, division.name_zh if chinese else division.name_en))
    return choices


def level_choices() -> list[tuple[str, str]]:
    """The levels of every framework, once per code (the first name given to a code)."""
    names: dict[str, str] = {}
    chinese = _is_chinese()
    for code, name_zh, name_en in LevelRule.objects.order_by("framework_id", "order").values_list(
        "code", "name_zh", "name_en"
    ):
        names.setdefault(code, name_zh if chinese else (name_en or name_zh))
    return list(names.items())


@dataclass
class AssessmentListing(ListQuery):
    level_names: dict[str, str] = field(default_factory=dict)


def assessment_listing(data: Mapping[str, str], *, user: User) -> AssessmentListing:
    """The assessment list's filters (campaign, state, province, level) and search (cloud
    name), with the choices the user may pick from: two queries however long the list."""
    campaigns = [
        (str(pk), name)
        for pk, name in selectors.assessment_list_for(user=user)
        .order_by("-campaign__year", "campaign__name")
        .values_list("campaign_id", "campaign__name")
        .distinct()
    ]
    levels = level_choices()
    listing = AssessmentListing(
        data,
        filters=[
            Filter("campaign", gettext_lazy("Campaign"), "campaign_id", campaigns),
            Filter("state", gettext_lazy("State"), "state", Assessment.State.choices),
            Filter(
                "province",
                gettext_lazy("Province"),
                "cloud__owner__division_code__startswith",
                province_choices(),
            ),
            Filter("level", gettext_lazy("Level"), "level", levels),
        ],
        search=Search(["cloud__name", "cloud__name_en"], label=gettext_lazy("Cloud name")),
    )
    listing.level_names = dict(levels)
    return listing


def assessment_table(rows: QuerySet[Assessment], listing: AssessmentListing) -> Table:
    """The export of the filtered assessments: one row each, the columns of the page."""
    header = [
        _("Cloud"),
        _("Owner"),
        _("Division code"),
        _("Campaign"),
        _("State"),
        _("Level"),
        _("Answered"),
        _("Indicators"),
        _("Self-assessment due"),
        _("Scoring due"),
    ]

    def lines() -> Iterator[list[Any]]:
        for a in rows.iterator(chunk_size=500):
            yield [
                a.cloud.name,
                a.cloud.owner.name,
                a.cloud.owner.division_code,
                a.campaign.name,
                a.get_state_display(),
                listing.level_names.get(annotated(a, "level"), annotated(a, "level")),
                annotated(a, "answered"),
                annotated(a, "indicator_count"),
                a.due_on,
                a.campaign.scoring_due_on,
            ]

    return header, lines()


# ----------------------------------------------------------------------------------------------
# Campaigns


def cockpit_listing(data: Mapping[str, str], *, campaign: Campaign) -> ListQuery:
    """The cockpit's filters (state, province, clouds short of assessors, overdue
    self-assessments) and search (cloud name), for its heat map and its table alike; no
    query."""
    short = [("missing", gettext_lazy("Fewer than the campaign asks for"))]
    overdue = [("overdue", gettext_lazy("Overdue"))]
    return ListQuery(
        data,
        filters=[
            Filter("state", gettext_lazy("State"), "state", Assessment.State.choices),
            Filter(
                "province",
                gettext_lazy("Province"),
                "cloud__owner__division_code__startswith",
                province_choices(),
            ),
            Filter(
                "assessors",
                gettext_lazy("Assessors"),
                choices=short,
                apply=lambda qs, v: qs.filter(assessor_count__lt=campaign.assessors_per_assessment),
            ),
            Filter(
                "deadline",
                gettext_lazy("Self-assessment deadline"),
                choices=overdue,
                apply=lambda qs, v: qs.filter(
                    pk__in=selectors.overdue_assessments(
                        campaign=campaign, today=timezone.localdate()
                    ).values("pk")
                ),
            ),
        ],
        search=Search(["cloud__name", "cloud__name_en"], label=gettext_lazy("Cloud name")),
    )


def campaign_listing(data: Mapping[str, str], *, user: User) -> ListQuery:
    years = [
        (str(y), str(y))
        for y in selectors.campaign_list_for(user=user)
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    ]
    return ListQuery(
        data,
        filters=[
            Filter("state", gettext_lazy("State"), "state", Campaign.State.choices),
            Filter("year", gettext_lazy("Year"), "year", years),
        ],
        search=Search(["name"], label=gettext_lazy("Campaign name")),
    )


def campaign_table(rows: QuerySet[Campaign]) -> Table:
    states = Assessment.State.choices
    header: list[str | Promise] = [
        _("Campaign"),
        _("Year"),
        _("Framework"),
        _("Framework version"),
        _("Submissions open on"),
        _("Submissions close on"),
        _("Scoring due on"),
        _("State"),
        _("Clouds"),
        *[label for _state, label in states],
    ]

    def lines() -> Iterator[list[Any]]:
        for c in rows.iterator(chunk_size=500):
            due: datetime.date | None = c.scoring_due_on
            yield [
                c.name,
                c.year,
                c.framework.name_zh,
                c.framework.version,
                c.opens_on,
                c.closes_on,
                due,
                c.get_state_display(),
                annotated(c, "n_total"),
                *[annotated(c, f"n_{state}") for state, _label in states],
            ]

    return header, lines()


# ----------------------------------------------------------------------------------------------
# Clouds (the register's search is ``views.clouds.cloud_list_queryset``'s: Chinese or English name)


def cloud_listing(data: Mapping[str, str]) -> ListQuery:
    archived = [("no", gettext_lazy("In use")), ("yes", gettext_lazy("Archived"))]
    return ListQuery(
        data,
        filters=[
            Filter("level", gettext_lazy("Level"), "level", Cloud.Level.choices),
            Filter(
                "province",
                gettext_lazy("Province"),
                "owner__division_code__startswith",
                province_choices(),
            ),
            Filter(
                "archived",
                gettext_lazy("Archived"),
                choices=archived,
                apply=lambda qs, v: qs.filter(archived_at__isnull=v == "no"),
            ),
        ],
        search=Search(["name", "name_en"], label=gettext_lazy("Cloud name")),
    )


def cloud_table(rows: QuerySet[Cloud]) -> Table:
    header = [
        _("Cloud"),
        _("English name"),
        _("Owner"),
        _("Division code"),
        _("Level"),
        _("Vendors"),
        _("Campaigns"),
        _("Archived"),
    ]

    def lines() -> Iterator[list[Any]]:
        for c in rows.iterator(chunk_size=500):
            yield [
                c.name,
                c.name_en,
                c.owner.name,
                c.owner.division_code,
                c.get_level_display(),
                "、".join(v.name for v in c.vendors.all()),
                annotated(c, "n_campaigns"),
                c.archived_at,
            ]

    return header, lines()
