"""``manage.py make_dev_certificate``: a self-signed key and certificate to sign reports with in
development, written where the settings look for them, unless they are there already."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.certified.signing import dev_certificate_create, signing_config


class Command(BaseCommand):
    help = (
        "Creates a self-signed development certificate for signing reports at "
        "REPORT_SIGNING_KEY / REPORT_SIGNING_CERT when neither exists (idempotent). "
        "Refuses when DEBUG is off unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Create one even when DEBUG is off."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = signing_config()
        have_key, have_cert = config.key_path.exists(), config.cert_path.exists()
        if have_key and have_cert:
            self.stdout.write(f"Report signing certificate: {config.cert_path}")
            return
        if have_key != have_cert:
            raise CommandError(
                f"Only one of {config.key_path} and {config.cert_path} exists; "
                "remove it or supply the other."
            )
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off: configure REPORT_SIGNING_KEY and REPORT_SIGNING_CERT with a real "
                "certificate (or pass --force to make a self-signed one anyway)."
            )
        dev_certificate_create(
            key_path=config.key_path,
            cert_path=config.cert_path,
            common_name="govcloud_eval 开发用报告签名证书 (development only)",
        )
        self.stdout.write(
            self.style.WARNING(
                f"Created a self-signed development certificate: {config.cert_path} "
                "(reports signed with it prove nothing outside development)."
            )
        )
