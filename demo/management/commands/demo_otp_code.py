from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django_otp.oath import TOTP

from accounts.models import User
from accounts.twofactor import selectors as two_factor


class Command(BaseCommand):
    help = (
        "Prints the current two-factor code of a demo account (what its authenticator app would "
        "show). Demo accounts only: their secret is published (demo/accounts.py)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.filter(username=options["username"]).first()
        except DatabaseError as error:
            raise CommandError(
                f"The database has no accounts yet ({error}): `make run` creates the demo first."
            ) from error
        if user is None:
            raise CommandError(f"No account {options['username']!r}.")
        if not user.is_demo:
            raise CommandError(
                f"{user.username} is not a demo account: its code comes from its owner's "
                "authenticator app only."
            )
        device = two_factor.totp_device_for(user)
        if device is None:
            raise CommandError(
                f"{user.username} has no authenticator app (its role signs in with a password "
                "only): run `python manage.py load_demo` for the demo accounts' apps."
            )
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        now = time.time()
        totp.time = now
        left = device.step - int(now - device.t0) % device.step
        self.stdout.write(f"{totp.token():0{device.digits}d}")
        self.stderr.write(
            f"(valid for {left} more seconds; each code signs in once: if it is refused, "
            "wait for the next one)"
        )
