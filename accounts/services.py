from __future__ import annotations

from axes.utils import reset
from django.db import transaction

from audit.services import audit_record

from . import policy
from .models import Organisation, User
from .policy import Action


@transaction.atomic
def organisation_create(
    *,
    kind: str,
    name: str,
    name_en: str = "",
    division_code: str = "",
    is_demo: bool = False,
    acting_user: User | None,
    authority: Action = Action.ORGANISATION_MANAGE,
) -> Organisation:
    """Creates an organisation. Raises ValidationError (nothing saved) on bad input.

    A government organisation needs a published GB/T 2260 code; its level follows from it.
    The security administrator (or the system: the demo loader) creates organisations; a cloud's
    new owner or vendor is created by whoever may register the cloud (``authority`` =
    ``cloud.manage``): an organisation gives nobody access, its accounts do.
    """
    if authority not in (Action.ORGANISATION_MANAGE, Action.CLOUD_MANAGE):
        raise ValueError(f"{authority} does not allow creating organisations.")
    policy.require(acting_user, authority)
    organisation = Organisation(
        kind=kind, name=name, name_en=name_en, division_code=division_code, is_demo=is_demo
    )
    organisation.full_clean()
    organisation.save()
    audit_record(
        action="accounts.organisation.created",
        acting_user=acting_user,
        target=organisation,
        changes={"kind": kind, "name": name, "division_code": division_code},
    )
    return organisation


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    organisation: Organisation | None = None,
    display_name: str = "",
    email: str = "",
    is_demo: bool = False,
    acting_user: User | None,
) -> User:
    """Creates a user with one role. The roles the policy lets into the Django admin site get
    ``is_staff``; nobody is a Django superuser (the admin site asks the policy too).

    Raises ValidationError, with nothing saved, when the role and organisation do not fit
    (a vendor outside a vendor organisation, say) or the username is taken. Admins only (or the
    system: the demo loader).
    """
    policy.require(acting_user, Action.USER_MANAGE)
    user = User(
        username=username,
        role=role,
        organisation=organisation,
        display_name=display_name,
        email=email,
        is_demo=is_demo,
        is_staff=policy.is_staff_role(role),
        is_superuser=False,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    audit_record(
        action="accounts.user.created",
        acting_user=acting_user,
        target=user,
        changes={"role": role, "organisation": organisation.name if organisation else None},
    )
    return user


def user_record_login(*, user: User) -> None:
    audit_record(action="accounts.user.logged_in", acting_user=user, target=user)


def user_record_logout(*, user: User) -> None:
    audit_record(action="accounts.user.logged_out", acting_user=user, target=user)


def user_record_timeout(*, user: User, idle_seconds: int) -> None:
    """Records that ``user``'s session ended after ``idle_seconds`` without a request."""
    audit_record(
        action="accounts.user.timed_out",
        acting_user=user,
        target=user,
        changes={"idle_minutes": idle_seconds // 60},
    )


# ----------------------------------------------------------------------------------------------
# Sign-in lockouts (django-axes): failed sign-ins, lockouts and their lifting, all audited


def user_record_login_failed(*, username: str, locked_out: bool) -> None:
    """Records a failed sign-in: the username tried (never the password), against the account
    of that name if there is one. Nobody acts: the person who tried is unknown."""
    target = User.objects.filter(username=username).first() if username else None
    audit_record(
        action="accounts.user.login_failed",
        acting_user=None,
        target=target,
        changes={"username": username[:150], "locked_out": locked_out},
    )


def user_record_locked_out(*, username: str, by: list[str]) -> None:
    """Records that sign-ins were locked (``by``: "account", "address" or both)."""
    target = User.objects.filter(username=username).first() if username else None
    audit_record(
        action="accounts.user.locked_out",
        acting_user=None,
        target=target,
        changes={"username": username[:150], "by": by},
    )


@transaction.atomic
def lockout_clear(
    *, user: User | None = None, ip_address: str = "", acting_user: User | None
) -> int:
    """Lifts the sign-in lockout of an account (``user``) or of a client address: forgets the
    failed attempts recorded for it. Returns how many attempt records were cleared (0 when
    nothing was locked; the lifting is audited all the same). Security administrators only.

    Raises ``ValueError`` unless exactly one of ``user`` and ``ip_address`` is given.
    """
    policy.require(acting_user, Action.USER_UNLOCK)
    if (user is None) == (not ip_address):
        raise ValueError("Give either an account or an address to unlock.")
    if user is not None:
        cleared = reset(username=user.get_username())
        changes: dict[str, object] = {"username": user.get_username(), "cleared": cleared}
    else:
        cleared = reset(ip=ip_address)
        changes = {"address": ip_address, "cleared": cleared}
    audit_record(
        action="accounts.user.unlocked", acting_user=acting_user, target=user, changes=changes
    )
    return int(cleared)
