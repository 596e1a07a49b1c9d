"""The access policy: how it decides, how it refuses, and the document generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template import Context, Template
from django.test import RequestFactory

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from audit.models import AuditEvent

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_permissions_document_is_generated_from_the_policy() -> None:
    document = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")

    assert document == policy.permissions_markdown(), (
        "docs/permissions.md is stale: run `python manage.py permissions_doc`"
    )


def test_the_document_names_every_action_and_role() -> None:
    document = policy.permissions_markdown()

    for action in Action:
        assert f"`{action.value}`" in document
    for role in policy.ROLES:
        assert f"| {role} " in document.splitlines()[11]


def test_the_check_command_fails_on_a_stale_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts.management.commands import permissions_doc

    stale = tmp_path / "permissions.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(permissions_doc, "DOC", stale)

    with pytest.raises(CommandError, match="stale"):
        call_command("permissions_doc", "--check")
    call_command("permissions_doc")
    call_command("permissions_doc", "--check")
    assert stale.read_text(encoding="utf-8") == policy.permissions_markdown()


def test_every_action_has_a_rule() -> None:
    assert set(policy.RULES) == set(Action)


def test_a_role_without_a_grant_is_denied_and_a_state_refusal_names_the_state(
    users_by_role: dict[str, User],
) -> None:
    class Campaign:
        state = "closed"

    with pytest.raises(policy.Denied):
        policy.require(users_by_role["vendor"], Action.CAMPAIGN_ADD_CLOUDS, Campaign())
    with pytest.raises(ValidationError) as refused:
        policy.require(users_by_role["admin"], Action.CAMPAIGN_ADD_CLOUDS, Campaign())
    assert refused.value.code == "state"
    Campaign.state = "reviewing"
    policy.require(users_by_role["admin"], Action.CAMPAIGN_ADD_CLOUDS, Campaign())


def test_the_system_may_do_only_what_is_marked_for_it() -> None:
    assert policy.can(None, Action.CATALOG_MANAGE)
    assert policy.can(None, Action.CAMPAIGN_SCORE)
    assert not policy.can(None, Action.ASSESSMENT_APPROVE)
    assert not policy.can(None, Action.REPORT_MANAGE)


def test_anonymous_visitors_may_use_only_the_public_actions() -> None:
    anonymous = AnonymousUser()
    public = {a for a in Action if policy.can(anonymous, a)}

    assert public == {Action.RANKING_PUBLIC_VIEW, Action.REPORT_VERIFY}


def test_an_inactive_user_may_do_nothing(users_by_role: dict[str, User]) -> None:
    admin = users_by_role["admin"]
    admin.is_active = False

    assert not any(policy.can(admin, action) for action in Action)


def test_the_template_tag_asks_the_policy_for_the_requests_user(
    users_by_role: dict[str, User],
) -> None:
    template = Template(
        "{% load policy_tags %}"
        '{% can "campaign.view" as may %}{% if may %}yes{% else %}no{% endif %}'
    )

    def render(user: User | AnonymousUser) -> str:
        request = RequestFactory().get("/")
        request.user = user
        return template.render(Context({"request": request}))

    assert render(users_by_role["admin"]) == "yes"
    assert render(users_by_role["vendor"]) == "no"
    assert render(AnonymousUser()) == "no"


def test_create_admin_makes_a_staff_admin_who_is_no_superuser(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "a-long-password-for-the-office-1")

    call_command("create_admin", "office", "--organisation", "中国信通院评估办公室")

    user = User.objects.get(username="office")
    assert (user.role, user.is_staff, user.is_superuser) == ("admin", True, False)
    assert user.organisation is not None and user.organisation.kind == "office"
    assert AuditEvent.objects.filter(action="accounts.user.created", target_id=str(user.pk))


def test_create_admin_refuses_a_weak_password(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "123")

    with pytest.raises(CommandError):
        call_command("create_admin", "office", "--organisation", "评估办公室")
    assert not User.objects.filter(username="office").exists()
