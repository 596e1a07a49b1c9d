"""What publishing guards: unfinished assessments are listed and acknowledged with a reason (and
audited); a public notice never starts before its list is published, and the pages say "on public
notice" (公示中) only while it runs; no two public lists share a title."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format

from accounts.models import User
from assessments.models import Assessment, Campaign, Cloud
from audit.models import AuditEvent
from indicators.models import Framework
from reports.models import Ranking
from reports.rankings import services

from .test_rankings import acknowledged, add_cloud, make_campaign, publish

TODAY = timezone.localdate


def day(offset: int) -> datetime.date:
    return TODAY() + datetime.timedelta(days=offset)


def page(url: str, language: str = "zh-hans", user: User | None = None) -> str:
    client = Client()
    client.cookies["django_language"] = language
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def save_settings(
    draft: Ranking,
    admin: User,
    *,
    starts: datetime.date | None,
    ends: datetime.date | None,
    public_form: str = Ranking.PublicForm.GROUPED,
) -> Ranking:
    return services.ranking_settings_save(
        ranking=draft,
        quotas=draft.quotas,
        min_level=draft.min_level,
        tie_break=draft.tie_break,
        public_form=public_form,
        notice_starts_on=starts,
        notice_ends_on=ends,
        acting_user=admin,
    )


# ----------------------------------------------------------------------------------------------
# Unfinished assessments


def test_publishing_is_refused_while_unfinished_assessments_are_not_acknowledged(
    filled: Campaign, admin: User
) -> None:
    draft = services.ranking_draft_get_or_create(campaign=filled, acting_user=admin)
    ids = acknowledged(filled)["unfinished_acknowledged"]
    assert len(ids) == 2 and filled.assessments.count() == 16
    attempts: list[tuple[list[int], str]] = [
        ([], ""),
        ([], "赶在年底前发布。"),  # a reason, but nothing acknowledged
        (ids, ""),  # acknowledged, but no reason
        (ids, "   "),
        (ids[:1], "只看到一项。"),
    ]
    for seen, reason in attempts:
        with pytest.raises(ValidationError) as refused:
            services.ranking_publish(
                ranking=draft,
                unfinished_acknowledged=seen,
                unfinished_reason=reason,
                acting_user=admin,
            )
        (message,) = refused.value.message_dict["unfinished_reason"]
        assert "2" in message and "16" in message
        assert "未批准省级云" in message and "未评分市级云" in message
    draft.refresh_from_db()
    assert draft.state == Ranking.State.DRAFT
    assert not AuditEvent.objects.filter(action="reports.ranking.published").exists()


def test_publishing_with_the_acknowledgement_and_a_reason_is_audited(
    filled: Campaign, admin: User
) -> None:
    draft = services.ranking_draft_get_or_create(campaign=filled, acting_user=admin)
    unfinished = list(filled.assessments.exclude(state=Assessment.State.APPROVED).order_by("pk"))
    published = services.ranking_publish(
        ranking=draft,
        unfinished_acknowledged=[a.pk for a in unfinished],
        unfinished_reason="  两项评估仍在复核，不影响已批准结果的排名。 ",
        acting_user=admin,
    )
    assert published.state == Ranking.State.FINAL
    event = AuditEvent.objects.get(action="reports.ranking.published")
    assert event.actor == admin
    recorded = event.changes["unfinished"]
    assert recorded["count"] == 2 and recorded["of"] == 16
    assert recorded["reason"] == "两项评估仍在复核，不影响已批准结果的排名。"
    assert sorted((a["cloud"], a["state"]) for a in recorded["assessments"]) == sorted(
        (a.cloud.name, a.state) for a in unfinished
    )


def test_an_assessment_added_after_the_admin_looked_is_not_acknowledged(
    filled: Campaign, admin: User
) -> None:
    draft = services.ranking_draft_get_or_create(campaign=filled, acting_user=admin)
    seen = acknowledged(filled)
    add_cloud(filled, "新加入市级云", pool=Cloud.Level.MUNICIPAL, total=None, state="submitted")
    with pytest.raises(ValidationError, match="新加入市级云"):
        services.ranking_publish(ranking=draft, acting_user=admin, **seen)
    services.ranking_publish(ranking=draft, acting_user=admin, **acknowledged(filled))


def test_a_campaign_whose_assessments_are_all_approved_needs_no_acknowledgement(
    year_campaign: Campaign, admin: User
) -> None:
    add_cloud(year_campaign, "省级云", total="90.00")
    draft = services.ranking_draft_get_or_create(campaign=year_campaign, acting_user=admin)
    services.ranking_publish(ranking=draft, acting_user=admin)
    event = AuditEvent.objects.get(action="reports.ranking.published")
    assert event.changes["unfinished"] is None


def test_the_admin_page_lists_the_unfinished_assessments_and_asks_for_the_reason(
    filled: Campaign, admin: User
) -> None:
    url = f"/campaigns/{filled.pk}/ranking/"
    text = page(url, user=admin)
    listed = text[text.index('data-testid="unfinished"') :]
    listed = listed[: listed.index("</div>")]
    assert "未批准省级云" in listed and "未评分市级云" in listed and "省级云0" not in listed
    assert 'name="acknowledge_unfinished"' in text and 'name="unfinished_reason"' in text
    client = Client()
    client.force_login(admin)
    ids = acknowledged(filled)["unfinished_acknowledged"]
    publish_url = f"/campaigns/{filled.pk}/ranking/publish/"
    # The reason without ticking the box does not count.
    response = client.post(
        publish_url,
        {"confirm": "yes", "unfinished": ids, "unfinished_reason": "理由"},
        follow=True,
    )
    assert "未批准省级云" in response.content.decode()
    assert not Ranking.objects.exclude(state=Ranking.State.DRAFT).exists()
    client.post(
        publish_url,
        {
            "confirm": "yes",
            "acknowledge_unfinished": "yes",
            "unfinished": ids,
            "unfinished_reason": "两项评估仍在复核。",
        },
    )
    assert Ranking.objects.get(campaign=filled, version=1).state == Ranking.State.FINAL


# ----------------------------------------------------------------------------------------------
# The notice period


@pytest.fixture
def campaign_2026(admin: User, comprehensive: Framework) -> Campaign:
    campaign = make_campaign(admin, comprehensive, 2026)
    add_cloud(campaign, "甲省政务云", total="91.00")
    add_cloud(campaign, "乙市政务云", pool=Cloud.Level.MUNICIPAL, total="88.00")
    return campaign


def test_a_notice_starting_before_the_list_is_published_is_refused(
    campaign_2026: Campaign, admin: User
) -> None:
    draft = services.ranking_draft_get_or_create(campaign=campaign_2026, acting_user=admin)
    with pytest.raises(ValidationError) as refused:
        save_settings(draft, admin, starts=day(-1), ends=day(6))
    (message,) = refused.value.message_dict["notice_starts_on"]
    assert TODAY().isoformat() in message
    # Saved in time, then published a day too late (test set-up: the date has passed).
    save_settings(draft, admin, starts=day(0), ends=day(6))
    Ranking.objects.filter(pk=draft.pk).update(notice_starts_on=day(-1))
    draft.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        services.ranking_publish(ranking=draft, acting_user=admin)
    assert TODAY().isoformat() in refused.value.message_dict["notice_starts_on"][0]
    Ranking.objects.filter(pk=draft.pk).update(notice_starts_on=day(0))
    published = services.ranking_publish(ranking=draft, acting_user=admin)
    assert published.state == Ranking.State.NOTICE


def test_a_correction_during_the_notice_keeps_the_period_it_corrects(
    campaign_2026: Campaign, admin: User
) -> None:
    first = publish(campaign_2026, admin, notice_starts_on=day(0), notice_ends_on=day(6))
    # Test set-up: the notice was published three days ago and runs.
    Ranking.objects.filter(pk=first.pk).update(notice_starts_on=day(-3))
    draft = services.ranking_draft_get_or_create(campaign=campaign_2026, acting_user=admin)
    assert (draft.notice_starts_on, draft.notice_ends_on) == (day(-3), day(6))
    save_settings(draft, admin, starts=day(-3), ends=day(6))  # other settings change freely
    second = services.ranking_publish(ranking=draft, change_note="更正笔误。", acting_user=admin)
    assert second.state == Ranking.State.NOTICE and second.notice_starts_on == day(-3)
    # A new period is a new notice: it starts on or after the day it is published.
    third = services.ranking_draft_get_or_create(campaign=campaign_2026, acting_user=admin)
    with pytest.raises(ValidationError):
        save_settings(third, admin, starts=day(-2), ends=day(9))


def _phase(text: str) -> str:
    marker = 'data-notice-phase="'
    return text[text.index(marker) + len(marker) :].split('"', 1)[0] if marker in text else "-"


def test_the_page_says_on_public_notice_only_while_the_notice_runs(
    campaign_2026: Campaign, admin: User
) -> None:
    notice = publish(campaign_2026, admin, notice_starts_on=day(2), notice_ends_on=day(9))
    url = "/rankings/2026/top-ten/"

    def dates(starts: int, ends: int) -> None:
        # Test set-up: the calendar moves on (the index's cache is keyed by the day).
        Ranking.objects.filter(pk=notice.pk).update(
            notice_starts_on=day(starts), notice_ends_on=day(ends)
        )
        cache.clear()

    # Before it starts: when it will start, never 公示中.
    chinese, english = page(url), page(url, "en")
    assert _phase(chinese) == "upcoming" and "公示中" not in chinese
    with translation.override("en"):
        start = date_format(day(2), "DATE_FORMAT")
    assert f"Public notice starts on {start}" in english
    assert "public notice (公示) from" in english and "Lodge an objection" not in english
    index = page("/rankings/", "en")
    assert "Public notice starts on" in index and "On public notice until" not in index
    assert "公示至" not in page("/rankings/")
    # While it runs: 公示中, and objections may be lodged.
    dates(-1, 6)
    chinese = page(url)
    assert _phase(chinese) == "running" and "公示中" in chinese and "提出异议" in chinese
    assert "公示至" in page("/rankings/")
    # After it, before the final list: the notice has ended, the final list is awaited.
    dates(-9, -2)
    chinese = page(url)
    assert _phase(chinese) == "ended" and "公示中" not in chinese
    assert "公示期已结束，最终名单待发布" in chinese and "公示已于" in chinese
    assert "公示期已结束，最终名单待发布" in page("/rankings/")
    # Once the final list is out, the notice version says its notice has ended, nothing more.
    publish(campaign_2026, admin, note="公示期满，发布最终名单。")
    old = page(f"{url}v1/", "en")
    assert _phase(old) == "-" and 'data-testid="notice-badge">Public notice ended<' in old
    assert "final list pending" not in old and "rk-alert--superseded" in old
    assert "公示中" not in page(f"{url}v1/")
    current = page(url)
    assert "最终名单" in current and "公示中" not in current


# ----------------------------------------------------------------------------------------------
# Titles


def test_the_notice_list_and_the_final_list_of_a_year_have_distinct_titles(
    campaign_2026: Campaign, admin: User
) -> None:
    notice = publish(campaign_2026, admin, notice_starts_on=day(0), notice_ends_on=day(0))
    Ranking.objects.filter(pk=notice.pk).update(notice_starts_on=day(-7), notice_ends_on=day(-1))
    final = publish(campaign_2026, admin, note="公示期满，发布最终名单。")
    assert notice.snapshot is not None and final.snapshot is not None
    assert notice.snapshot["title"] == "2026年度十佳政务云公示名单"
    assert final.snapshot["title"] == "2026年度十佳政务云"
    assert notice.snapshot["title_en"] == "Top ten government clouds 2026: list for public notice"
    assert final.snapshot["title_en"] == "Top ten government clouds 2026"
    assert "<h1>2026年度十佳政务云公示名单</h1>" in page("/rankings/2026/top-ten/v1/")
    assert "<h1>2026年度十佳政务云</h1>" in page("/rankings/2026/top-ten/v2/")


def test_two_rankings_of_one_year_have_distinct_titles(
    campaign_2026: Campaign, admin: User, comprehensive: Framework
) -> None:
    first = publish(campaign_2026, admin)
    second_campaign = make_campaign(admin, comprehensive, 2026, name="2026年政务云补充评估")
    add_cloud(second_campaign, "丙省政务云", total="89.00")
    second = publish(second_campaign, admin)
    assert first.snapshot is not None and second.snapshot is not None
    assert first.snapshot["title"] == "2026年度十佳政务云"
    assert second.snapshot["title"] == "2026年度十佳政务云（2026年政务云补充评估）"
    assert second.snapshot["title_en"] == "Top ten government clouds 2026 (2026年政务云补充评估)"
    assert (first.slug, second.slug) == ("top-ten", f"top-ten-{second_campaign.pk}")
    index = page("/rankings/")
    assert "2026年度十佳政务云</a>" in index
    assert "2026年度十佳政务云（2026年政务云补充评估）</a>" in index


def test_a_title_already_taken_is_refused(
    campaign_2026: Campaign, admin: User, comprehensive: Framework
) -> None:
    first = publish(campaign_2026, admin)
    other = make_campaign(admin, comprehensive, 2026, name="第二批")
    add_cloud(other, "丙省政务云", total="89.00")
    # Test set-up: a list published with the title the next one would get.
    assert first.snapshot is not None
    Ranking.objects.filter(pk=first.pk).update(
        snapshot={**first.snapshot, "title": "2026年度十佳政务云（第二批）"}
    )
    draft = services.ranking_draft_get_or_create(campaign=other, acting_user=admin)
    with pytest.raises(ValidationError, match="2026年度十佳政务云（第二批）"):
        services.ranking_publish(ranking=draft, acting_user=admin)
