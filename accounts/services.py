from __future__ import annotations

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
) -> Organisation:
    """Creates an organisation. Raises ValidationError (nothing saved) on bad input.

    A government organisation needs a published GB/T 2260 code; its level follows from it.
    Admins only (or the system: the demo loader).
    """
    policy.require(acting_user, Action.ORGANISATION_MANAGE)
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
