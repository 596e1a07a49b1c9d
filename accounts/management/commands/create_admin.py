"""``manage.py create_admin USERNAME --organisation NAME [--role security|auditor]``: the first
admin of a new portal, and its first security administrator (who then creates every other
account: three-role separation) and auditor.

Nobody is a Django superuser (the admin site asks the access policy), so ``createsuperuser``
cannot open the portal; this command creates an admin through the same service as everything
else, audited as done by the system. The password is asked for twice, or read from the
``ADMIN_PASSWORD`` environment variable for scripts.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Organisation, User
from accounts.services import organisation_create, user_create


class Command(BaseCommand):
    help = (
        "Creates a portal admin, security administrator or auditor (and the evaluation office it "
        "belongs to, if new)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--organisation", required=True, help="The evaluation office's name (评估办公室)."
        )
        parser.add_argument("--display-name", default="")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--role",
            default=User.Role.ADMIN,
            choices=[User.Role.ADMIN, User.Role.SECURITY, User.Role.AUDITOR],
            help="admin (runs the evaluation, the default), security (manages the accounts) or "
            "auditor (reads the audit trail).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("ADMIN_PASSWORD") or self._ask_password()
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        try:
            with transaction.atomic():
                office = Organisation.objects.filter(name=options["organisation"]).first()
                if office is None:
                    office = organisation_create(
                        kind=Organisation.Kind.OFFICE,
                        name=options["organisation"],
                        acting_user=None,
                    )
                user = user_create(
                    username=options["username"],
                    password=password,
                    role=options["role"],
                    organisation=office,
                    display_name=options["display_name"],
                    email=options["email"],
                    acting_user=None,
                )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(f"{user.get_role_display()} {user.username} of {office} created.")
        )

    def _ask_password(self) -> str:
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords differ.")
        if not first:
            raise CommandError("The password is empty.")
        return first
