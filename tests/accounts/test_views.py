from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from audit.models import AuditEvent
from tests.conftest import client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_login_page_speaks_chinese_by_default(client: Client) -> None:
    response = client.get("/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-CN">' in html
    assert "登录" in html
    assert "用户名" in html


def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_wrong_password_gets_a_clear_error_and_no_session(client: Client, vendor: User) -> None:
    response = client.post("/login/", {"username": vendor.username, "password": "wrong"})

    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signing_in_and_out_is_recorded_in_the_audit_trail(client: Client, vendor: User) -> None:
    response = client.post("/login/", {"username": vendor.username, "password": PASSWORD})
    assert response.status_code == 302
    client.post("/logout/")

    actions = list(
        AuditEvent.objects.filter(actor=vendor).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["accounts.user.logged_in", "accounts.user.logged_out"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (User.Role.ADMIN, "评估批次"),
        (User.Role.ASSESSOR, "我的评估任务"),
        (User.Role.VENDOR, "自评填报"),
        (User.Role.OWNER, "我的政务云"),
        (User.Role.AUDITOR, "最近活动"),
    ],
)
def test_each_role_sees_its_own_dashboard(
    users_by_role: dict[str, User], role: str, expected: str
) -> None:
    response = client_for(users_by_role[role]).get("/")

    assert response.status_code == 200
    assert expected in response.content.decode()


def test_only_auditors_see_the_audit_trail_in_the_menu(
    users_by_role: dict[str, User],
) -> None:
    for role, user in users_by_role.items():
        html = client_for(user).get("/").content.decode()
        assert ('href="/audit/"' in html) is (role == User.Role.AUDITOR), role


def test_the_audit_trail_is_read_by_auditors_and_hidden_from_everyone_else(
    users_by_role: dict[str, User], outsider_vendor: User
) -> None:
    client_for(users_by_role[User.Role.ADMIN]).post("/logout/")
    # Three-role separation: neither the admin nor the security administrator reads it.
    expected = {
        User.Role.ADMIN: 404,
        User.Role.SECURITY: 404,
        User.Role.AUDITOR: 200,
        User.Role.ASSESSOR: 404,
        User.Role.VENDOR: 404,
        User.Role.OWNER: 404,
    }
    for role, status in expected.items():
        assert client_for(users_by_role[role]).get("/audit/").status_code == status, role
    assert client_for(outsider_vendor).get("/audit/").status_code == 404
    assert client_for(None).get("/audit/").status_code == 302


def test_the_audit_trail_filters_by_action(auditor: User, vendor: User) -> None:
    client = Client()
    client.post("/login/", {"username": vendor.username, "password": PASSWORD})

    html = client_for(auditor).get("/audit/", {"action": "accounts.user.logged_in"}).content
    assert b"accounts.user.logged_in" in html
    text = client_for(auditor).get("/audit/", {"action": "nothing.like.this"}).content.decode()
    assert "没有匹配的记录" in text


def test_english_is_one_click_away(client: Client, vendor: User) -> None:
    client.force_login(vendor)

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)

    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Self-assessments" in html
    assert "Sign out" in html


def test_the_public_pages_are_in_everyones_menu(client: Client, vendor: User) -> None:
    anonymous = client.get("/login/").content.decode()
    signed_in = client_for(vendor).get("/").content.decode()

    for html in (anonymous, signed_in):
        assert 'href="/rankings/"' in html and "十佳政务云" in html
        assert 'href="/verify/"' in html and "报告核验" in html
    assert 'href="/assessments/"' not in anonymous
