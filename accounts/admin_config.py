"""The Django admin app, with the portal's site (``accounts.admin_site.PortalAdminSite``), which
asks the access policy. A module of its own: Django reads it while the apps load, before any
model may be imported."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.PortalAdminSite"
