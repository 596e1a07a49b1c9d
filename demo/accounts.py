"""Demo organisations and accounts, created only by ``manage.py load_demo`` and marked as demo.

Vendors and the cloud owner are those of the 2018 trusted-platform awards and top ten in
DOMAIN.md (浪潮 operates 济南政务云计算中心, 京东 operates 宿迁政务云).
"""

from __future__ import annotations

import base64
from typing import NotRequired, TypedDict

from django.db import transaction

from accounts import services
from accounts.models import Organisation, User
from accounts.twofactor import selectors as two_factor
from accounts.twofactor.services import totp_device_install_demo

DEMO_PASSWORD = "govcloud-demo"
# The authenticator secret of every demo account that signs in with a code (admins, assessors,
# the auditor, the security administrator): published here, so for demo accounts only. Add it to
# an authenticator app, or print the current code: `python manage.py demo_otp_code USERNAME`.
DEMO_TOTP_SECRET = "GOVCLOUDEVALDEMOTOTPSECRETKEY234"


class DemoOrganisation(TypedDict):
    key: str
    kind: str
    name: str
    name_en: str
    # Government organisations only.
    division_code: NotRequired[str]


class DemoUser(TypedDict):
    username: str
    role: str
    organisation: str | None
    display_name: str


DEMO_ORGANISATIONS: list[DemoOrganisation] = [
    {
        "key": "office",
        "kind": Organisation.Kind.OFFICE,
        "name": "政务云评估办公室（演示）",
        "name_en": "Government Cloud Evaluation Office (demo)",
    },
    {
        "key": "inspur",
        "kind": Organisation.Kind.VENDOR,
        "name": "浪潮软件集团有限公司",
        "name_en": "Inspur Software Group",
    },
    {
        "key": "jd",
        "kind": Organisation.Kind.VENDOR,
        "name": "北京京东叁佰陆拾度电子商务有限公司",
        "name_en": "Beijing Jingdong 360 Degree E-commerce",
    },
    {
        "key": "jinan",
        "kind": Organisation.Kind.GOVERNMENT,
        "name": "济南市大数据局",
        "name_en": "Jinan Big Data Bureau",
        "division_code": "370100",
    },
]

DEMO_USERS: list[DemoUser] = [
    {
        "username": "admin",
        "role": User.Role.ADMIN,
        "organisation": "office",
        "display_name": "评估办公室管理员（演示）",
    },
    {
        "username": "auditor",
        "role": User.Role.AUDITOR,
        "organisation": "office",
        "display_name": "审计员（演示）",
    },
    {
        "username": "security",
        "role": User.Role.SECURITY,
        "organisation": "office",
        "display_name": "安全管理员（演示）",
    },
    {
        "username": "assessor1",
        "role": User.Role.ASSESSOR,
        "organisation": "office",
        "display_name": "评估专家甲（演示）",
    },
    {
        "username": "assessor2",
        "role": User.Role.ASSESSOR,
        "organisation": "office",
        "display_name": "评估专家乙（演示）",
    },
    {
        "username": "vendor1",
        "role": User.Role.VENDOR,
        "organisation": "inspur",
        "display_name": "浪潮填报人（演示）",
    },
    {
        "username": "vendor2",
        "role": User.Role.VENDOR,
        "organisation": "jd",
        "display_name": "京东填报人（演示）",
    },
    {
        "username": "owner1",
        "role": User.Role.OWNER,
        "organisation": "jinan",
        "display_name": "济南市大数据局联系人（演示）",
    },
]


@transaction.atomic
def load_demo_accounts() -> list[User]:
    """Creates the demo organisations and accounts that are missing; leaves existing ones alone.

    Safe to run any number of times. Returns the demo users in ``DEMO_USERS`` order.
    """
    organisations: dict[str, Organisation] = {}
    for spec in DEMO_ORGANISATIONS:
        existing = Organisation.objects.filter(name=spec["name"]).first()
        organisations[spec["key"]] = existing or services.organisation_create(
            kind=spec["kind"],
            name=spec["name"],
            name_en=spec["name_en"],
            division_code=spec.get("division_code", ""),
            is_demo=True,
            acting_user=None,
        )
    users: list[User] = []
    for user_spec in DEMO_USERS:
        existing_user = User.objects.filter(username=user_spec["username"]).first()
        users.append(
            existing_user
            or services.user_create(
                username=user_spec["username"],
                password=DEMO_PASSWORD,
                role=user_spec["role"],
                organisation=(
                    organisations[user_spec["organisation"]] if user_spec["organisation"] else None
                ),
                display_name=user_spec["display_name"],
                is_demo=True,
                acting_user=None,
            )
        )
    demo_key = base64.b32decode(DEMO_TOTP_SECRET).hex()
    for user in users:
        if user.is_demo and two_factor.otp_required(user):
            totp_device_install_demo(user=user, key_hex=demo_key)
    return users
