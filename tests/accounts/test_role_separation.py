"""Three-role separation (三权分立, GB/T 22239-2019 level 3): the admin runs the evaluation, the
security administrator manages the accounts, the auditor reads the audit trail. None can do
another's job, and no account holds two roles."""

from __future__ import annotations

from itertools import permutations

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts import policy
from accounts.models import Organisation, User
from accounts.policy import ADMIN, AUDITOR, SECURITY, Action
from tests.conftest import client_for

# The jobs of each of the three roles.
JOBS: dict[str, tuple[Action, ...]] = {
    ADMIN: (
        Action.CATALOG_MANAGE,
        Action.CAMPAIGN_VIEW,
        Action.CAMPAIGN_CREATE,
        Action.CAMPAIGN_SET_STATE,
        Action.ASSIGNMENT_CREATE,
        Action.ASSESSMENT_APPROVE,
        Action.ASSESSMENT_RETURN,
        Action.CAMPAIGN_SCORE,
        Action.REPORT_ISSUE,
        Action.REPORT_MANAGE,
        Action.RANKING_MANAGE,
        Action.ADMIN_RECORDS,
    ),
    SECURITY: (Action.USER_MANAGE, Action.ORGANISATION_MANAGE, Action.USER_UNLOCK),
    AUDITOR: (Action.AUDIT_VIEW,),
}
# What two of them may share: their own pages, public ones, and the admin site's door (inside,
# each model is one role's: ADMIN_RECORDS or USER_MANAGE / ORGANISATION_MANAGE).
SHARED = {
    Action.DASHBOARD_VIEW,
    Action.CATALOG_VIEW,
    Action.CLOUD_VIEW,
    Action.RANKING_PUBLIC_VIEW,
    Action.REPORT_VERIFY,
    Action.NOTIFICATION_VIEW,
    Action.ADMIN_SITE,
}


def _granted(role: str) -> set[Action]:
    return {action for action in Action if role in policy.roles_for(action)}


def test_the_three_roles_are_the_separated_ones() -> None:
    assert set(policy.SEPARATED_ROLES) == set(JOBS)


@pytest.mark.parametrize(("role", "other"), list(permutations(JOBS, 2)))
def test_the_jobs_of_one_role_are_refused_to_the_other(
    role: str, other: str, users_by_role: dict[str, User]
) -> None:
    for action in JOBS[role]:
        assert policy.can(users_by_role[role], action), (role, action)
        assert not policy.can(users_by_role[other], action), (other, action)
    # Nothing else is shared between them either.
    assert _granted(role) & _granted(other) <= SHARED


def test_the_security_administrator_runs_no_campaign_scores_approves_or_audits(
    users_by_role: dict[str, User],
) -> None:
    security = users_by_role[SECURITY]
    for action in (
        Action.CAMPAIGN_VIEW,
        Action.ASSESSMENT_LIST,
        Action.RATING_SAVE,
        Action.ASSESSMENT_APPROVE,
        Action.AUDIT_VIEW,
        Action.HISTORY_VIEW,
        Action.ADMIN_RECORDS,
    ):
        assert not policy.can(security, action), action


@pytest.mark.django_db
def test_each_is_refused_the_pages_of_the_others(
    admin: User, auditor: User, security_admin: User
) -> None:
    audit_trail = reverse("audit:event_list")
    campaigns = reverse("assessments:campaign_list")
    users = reverse("admin:accounts_user_changelist")
    organisations = reverse("admin:accounts_organisation_changelist")
    clouds = reverse("admin:assessments_cloud_changelist")
    locked = reverse("admin:accounts_failedsignin_changelist")
    trail_in_admin = reverse("admin:audit_auditevent_changelist")

    as_admin, as_security, as_auditor = (
        client_for(admin),
        client_for(security_admin),
        client_for(auditor),
    )
    assert as_admin.get(campaigns).status_code == 200
    assert as_admin.get(clouds).status_code == 200
    for url in (users, organisations, locked, trail_in_admin):
        assert as_admin.get(url).status_code == 403, url
    assert as_admin.get(audit_trail).status_code == 404

    for url in (users, organisations, locked):
        assert as_security.get(url).status_code == 200, url
    for url in (clouds, trail_in_admin):
        assert as_security.get(url).status_code == 403, url
    assert as_security.get(campaigns).status_code == 404
    assert as_security.get(audit_trail).status_code == 404

    assert as_auditor.get(audit_trail).status_code == 200
    assert as_auditor.get(campaigns).status_code == 404
    for url in (users, clouds):
        assert as_auditor.get(url).status_code == 302  # not let into the admin site


@pytest.mark.django_db
def test_the_menu_shows_each_only_their_own_sections(
    admin: User, auditor: User, security_admin: User
) -> None:
    def menu(user: User) -> str:
        client = client_for(user)
        client.cookies["django_language"] = "en"
        page = client.get(reverse("dashboard")).content.decode()
        return page[page.find("<nav") : page.find("</nav>")]

    assert "Campaigns" in menu(admin) and "Audit trail" not in menu(admin)
    security = menu(security_admin)
    assert "Site administration" in security
    assert "Campaigns" not in security and "Audit trail" not in security
    auditor_menu = menu(auditor)
    assert "Audit trail" in auditor_menu and "Site administration" not in auditor_menu


@pytest.mark.django_db
def test_the_security_administrators_dashboard_counts_people_and_lockouts(
    security_admin: User, admin: User
) -> None:
    client = client_for(security_admin)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("dashboard")).content.decode()

    assert "Active users by role" in page
    assert "Accounts locked after failed sign-ins" in page
    admin_page = client_for(admin).get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Active users by role" not in admin_page.content.decode()


@pytest.mark.django_db
def test_the_auditor_reads_what_the_security_administrator_did(
    security_admin: User, auditor: User, vendor: User
) -> None:
    from accounts import services

    services.lockout_clear(user=vendor, acting_user=security_admin)

    client = client_for(auditor)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("audit:event_list")).content.decode()
    assert f"{security_admin.username} unlocked signing in (account {vendor})" in page


@pytest.mark.django_db
def test_no_account_holds_two_roles_nor_is_a_superuser(
    security_admin: User, vendor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The role is set once: the admin site shows it but does not change it.
    client = client_for(security_admin)
    change = reverse("admin:accounts_user_change", args=[vendor.pk])
    client.post(
        change,
        {
            "username": vendor.username,
            "display_name": "改名",
            "role": "security",
            "is_superuser": "on",
            "is_staff": "on",
            "is_active": "on",
        },
    )
    vendor.refresh_from_db()
    assert (vendor.display_name, vendor.role) == ("改名", "vendor")
    assert (vendor.is_staff, vendor.is_superuser) == (False, False)

    # The first security administrator of a new portal comes from the command line.
    monkeypatch.setenv("ADMIN_PASSWORD", "Security-Office-2026")
    call_command(
        "create_admin", "first_security", "--role", "security", "--organisation", "评估办公室"
    )
    created = User.objects.get(username="first_security")
    assert (created.role, created.is_staff, created.is_superuser) == ("security", True, False)
    assert User.objects.filter(is_superuser=True).count() == 0


@pytest.mark.django_db
def test_a_security_administrator_belongs_to_the_office_if_anywhere(
    vendor_org: Organisation,
) -> None:
    from django.core.exceptions import ValidationError

    from accounts import services

    with pytest.raises(ValidationError):
        services.user_create(
            username="sec_at_vendor",
            password="x",
            role=User.Role.SECURITY,
            organisation=vendor_org,
            acting_user=None,
        )
