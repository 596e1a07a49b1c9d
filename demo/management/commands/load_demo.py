from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from accounts.twofactor import selectors as two_factor
from demo.accounts import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo_accounts
from demo.campaigns import load_demo_campaign
from demo.rankings import demo_rankings_publish
from demo.reports import demo_reports_issue
from notifications.models import Notification


class Command(BaseCommand):
    help = (
        "Loads the demo accounts and the demo campaign (idempotent; everything is marked demo). "
        "The campaign goes through the real workflow services."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--accounts-only", action="store_true", help="Only the demo organisations and accounts."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = load_demo_accounts()
        if not options["accounts_only"]:
            campaign = load_demo_campaign()
            self.stdout.write(
                f"Demo campaign: {campaign.name} ({campaign.assessments.count()} clouds)"
            )
            reports = demo_reports_issue(campaign=campaign)
            if reports:
                self.stdout.write(f"Demo reports issued: {len(reports)}")
            rankings = demo_rankings_publish()
            self.stdout.write(
                "Demo rankings published: " + ", ".join(str(r.year) for r in rankings)
            )
            # Building the demo's history told the demo accounts of every step: those
            # notifications stay listed, as read, so that the menu counts only what comes next.
            Notification.objects.filter(recipient__is_demo=True, read_at=None).update(
                read_at=timezone.now()
            )
        self.stdout.write(self.style.SUCCESS(f"Demo accounts (password: {DEMO_PASSWORD}):"))
        for user in users:
            code = "  + two-factor code" if two_factor.otp_required(user) else ""
            self.stdout.write(f"  {user.username:<10} {user.get_role_display():<8} {user}{code}")
        self.stdout.write(
            "Two-factor code (demo accounts only, secret published in demo/accounts.py: "
            f"{DEMO_TOTP_SECRET}):\n  make otp ACCOUNT=USERNAME"
            "   (or: .venv/bin/python manage.py demo_otp_code USERNAME)"
        )
