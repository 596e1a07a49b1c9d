from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, load_demo_accounts


class Command(BaseCommand):
    help = "Loads the demo organisations and accounts (idempotent; everything is marked demo)."

    def handle(self, *args: Any, **options: Any) -> None:
        users = load_demo_accounts()
        from assessments.demo import load_demo_campaign

        campaign = load_demo_campaign()
        self.stdout.write(f"Demo campaign: {campaign.name} ({campaign.assessments.count()} clouds)")
        self.stdout.write(self.style.SUCCESS(f"Demo accounts (password: {DEMO_PASSWORD}):"))
        for user in users:
            self.stdout.write(f"  {user.username:<10} {user.get_role_display():<8} {user}")
