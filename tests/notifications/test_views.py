"""The notifications page, the unread count in the menu, and the language switch that remembers
a signed-in user's language."""

from __future__ import annotations

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from notifications.models import Notification
from tests.conftest import client_for


def _notify(
    user: User, subject: str, *, url: str = "/assessments/", read: bool = False
) -> Notification:
    return Notification.objects.create(
        kind=Notification.Kind.APPROVED,
        recipient=user,
        subject=subject,
        body=f"{subject}：正文。",
        url=url,
        read_at=timezone.now() if read else None,
    )


def test_the_page_lists_ones_own_notifications_newest_first_unread_marked(
    vendor: User, outsider_vendor: User
) -> None:
    old = _notify(vendor, "较早的通知", read=True)
    Notification.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    _notify(vendor, "最新的通知")
    _notify(outsider_vendor, "别人的通知")

    page = client_for(vendor).get(reverse("notifications:list")).content.decode()

    assert page.index("最新的通知") < page.index("较早的通知")
    assert "别人的通知" not in page
    assert page.count("notification--unread") == 1
    assert 'data-testid="unread-count">1<' in page


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(vendor: User) -> None:
    notification = _notify(vendor, "结果已审定", url="/assessments/42/")

    response = client_for(vendor).post(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 302 and response["Location"] == "/assessments/42/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_one_and_all_read(vendor: User) -> None:
    first, second, third = (_notify(vendor, f"通知{i}") for i in range(3))
    client = client_for(vendor)

    client.post(reverse("notifications:mark_read", args=[first.pk]))
    assert Notification.objects.filter(read_at__isnull=True).count() == 2
    response = client.post(reverse("notifications:mark_all_read"))

    assert response.status_code == 302
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    page = client.get(reverse("notifications:list")).content.decode()
    assert "notification--unread" not in page and 'data-testid="unread-count"' not in page


def test_someone_elses_notification_is_not_found(vendor: User, outsider_vendor: User) -> None:
    notification = _notify(vendor, "别人的通知")
    client = client_for(outsider_vendor)

    assert (
        client.post(reverse("notifications:mark_read", args=[notification.pk])).status_code == 404
    )
    assert client.post(reverse("notifications:open", args=[notification.pk])).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_anonymous_visitors_are_sent_to_sign_in(db: None) -> None:
    response = client_for(None).get(reverse("notifications:list"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_the_unread_count_costs_one_query_per_page(vendor: User) -> None:
    for i in range(3):
        _notify(vendor, f"通知{i}")
    client = client_for(vendor)

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("notifications:list")).content.decode()

    counts = [
        q["sql"]
        for q in queries.captured_queries
        if "notifications_notification" in q["sql"]
        and "COUNT(" in q["sql"].upper()
        and "read_at" in q["sql"]
    ]
    assert len(counts) == 1  # the menu and the page's button share it
    assert 'data-testid="unread-count">3<' in page


def test_the_dashboard_shows_the_unread_count_in_the_menu(vendor: User) -> None:
    _notify(vendor, "通知")
    page = client_for(vendor).get(reverse("dashboard")).content.decode()
    assert 'data-testid="unread-count">1<' in page
    assert reverse("notifications:list") in page


def test_switching_language_remembers_it_for_e_mails(vendor: User) -> None:
    assert vendor.language == "zh-hans"
    client = client_for(vendor)

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    assert response.status_code == 302
    vendor.refresh_from_db()
    assert vendor.language == "en"
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    vendor.refresh_from_db()
    assert vendor.language == "en"


def test_an_anonymous_visitor_can_still_switch_language(db: None) -> None:
    response = client_for(None).post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
