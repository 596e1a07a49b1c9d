"""The production headers of every page: a Content-Security-Policy without inline scripts,
Permissions-Policy, Cross-Origin-Opener-Policy and Referrer-Policy; signed-in pages never stored
by the browser while public pages keep their caching; /healthz answered over plain http when
everything else is redirected to https. (The settings in production are tested by loading them,
in tests/test_settings.py, ``check --deploy`` included.)"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django import Settings

from accounts.models import User
from assessments import services
from assessments.models import Assessment, Campaign, Cloud
from govcloud_eval.headers import PERMISSIONS_POLICY, ContentSecurityPolicyMiddleware
from indicators.models import Framework
from reports.models import Ranking
from tests.assessments.conftest import campaign, cloud, comprehensive, frameworks  # noqa: F401
from tests.conftest import client_for
from tests.reports.rankings.test_rankings import add_cloud, make_campaign, publish
from tests.test_templates_csp import inline_code

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse


@pytest.fixture
def assessment(campaign: Campaign, cloud: Cloud, admin: User, assessor: User) -> Assessment:  # noqa: F811
    (assessment,) = services.campaign_add_clouds(
        campaign=campaign, clouds=[cloud], acting_user=admin
    )
    services.assignment_create(assessment=assessment, assessor=assessor, acting_user=admin)
    return assessment


@pytest.fixture
def published(admin: User, comprehensive: Framework) -> Ranking:  # noqa: F811
    ranking_campaign = make_campaign(admin, comprehensive, datetime.date.today().year - 1)
    for n in range(3):
        add_cloud(ranking_campaign, f"省级云{n}", total=f"{90 - n}.00")
    return publish(ranking_campaign, admin)


def _public_url(ranking: Ranking) -> str:
    return reverse("rankings:public", args=[ranking.year, ranking.slug])


def _pages(role: str, assessment: Assessment, ranking: Ranking) -> list[str]:
    """A representative set of each role's pages: the JavaScript-heavy ones included."""
    pk = assessment.pk
    by_role = {
        "anonymous": [
            reverse("accounts:login"),
            reverse("rankings:index"),
            _public_url(ranking),
            reverse("certified:verify_lookup"),
            reverse("notifications:password_reset"),
        ],
        User.Role.ADMIN: [
            reverse("dashboard"),
            reverse("assessments:campaign_list"),
            reverse("assessments:campaign_detail", args=[assessment.campaign_id]),
            reverse("assessments:detail", args=[pk]),
            reverse("assessments:evidence_list", args=[pk]),
            reverse("assessments:cloud_list"),
            reverse("rankings:index"),
            reverse("rankings:admin", args=[ranking.campaign_id]),
            reverse("notifications:list"),
            # The Django admin: its own templates and scripts.
            reverse("admin:index"),
            reverse("admin:assessments_cloud_changelist"),
            # A form with a two-list selector (filter_horizontal) and its scripts.
            reverse("admin:assessments_cloud_change", args=[assessment.cloud_id]),
        ],
        User.Role.ASSESSOR: [
            reverse("dashboard"),
            reverse("assessments:list"),
            reverse("assessments:score", args=[pk]),
        ],
        User.Role.VENDOR: [
            reverse("dashboard"),
            reverse("assessments:list"),
            reverse("assessments:detail", args=[pk]),
            reverse("assessments:evidence_list", args=[pk]),
        ],
        User.Role.OWNER: [
            reverse("dashboard"),
            reverse("assessments:list"),
            reverse("assessments:detail", args=[pk]),
            reverse("rankings:index"),
        ],
        User.Role.AUDITOR: [reverse("dashboard"), reverse("audit:event_list")],
    }
    return by_role[role]


def _policy(response: TestResponse) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        directives[name] = sources
    return directives


def _signed_in(role: str, users: dict[str, User]) -> Client:
    client = client_for(None if role == "anonymous" else users[role])
    client.cookies["django_language"] = "en"
    return client


# The roles of tests/conftest.py's users.
ROLES = [User.Role.ADMIN, User.Role.ASSESSOR, User.Role.VENDOR, User.Role.OWNER, User.Role.AUDITOR]


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_every_page_of_every_role_carries_the_policy_and_holds_no_inline_code(
    role: str,
    users_by_role: dict[str, User],
    assessment: Assessment,
    published: Ranking,
) -> None:
    client = _signed_in(role, users_by_role)

    for url in _pages(role, assessment, published):
        response = client.get(url)

        assert response.status_code == 200, (url, response.status_code)
        policy = _policy(response)
        assert policy == {
            "default-src": ["'self'"],
            "script-src": ["'self'"],
            "style-src": ["'self'"],
            "img-src": ["'self'", "data:"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        }, url
        assert response["Permissions-Policy"] == PERMISSIONS_POLICY
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        # What the browser receives, Django's admin templates and every include rendered.
        html = response.content.decode()
        assert inline_code(html, where=url, page=True) == []


@pytest.mark.parametrize(
    ("content_type", "has_policy"),
    [("text/html; charset=utf-8", True), ("text/csv", True), ("application/pdf", False)],
)
def test_pdfs_are_left_without_the_pages_policy(content_type: str, has_policy: bool) -> None:
    # Chromium's PDF viewer is a plugin: object-src 'none' would block the ranking bulletin,
    # which opens in the browser.
    middleware = ContentSecurityPolicyMiddleware(
        lambda request: HttpResponse(b"%PDF-1.7", content_type=content_type)
    )

    response = middleware(RequestFactory().get("/rankings/2025/top-ten/v1/bulletin.pdf"))

    assert isinstance(response, HttpResponse)
    assert ("Content-Security-Policy" in response) is has_policy


def test_the_permissions_policy_denies_the_device_apis_to_every_origin() -> None:
    features = dict(item.split("=") for item in PERMISSIONS_POLICY.split(", "))

    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"
    assert set(features.values()) == {"()"}


@pytest.mark.parametrize("role", ROLES)
def test_signed_in_pages_are_never_stored(
    role: str, users_by_role: dict[str, User], assessment: Assessment, published: Ranking
) -> None:
    client = _signed_in(role, users_by_role)

    for url in _pages(role, assessment, published):
        cache_control = client.get(url)["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, url


def test_a_view_that_chose_its_caching_keeps_it_for_signed_in_readers(
    admin: User, published: Ranking
) -> None:
    # The public ranking revalidates with its ETag for everyone (the header names the reader,
    # and the ETag includes who it is).
    response = _signed_in(User.Role.ADMIN, {User.Role.ADMIN: admin}).get(_public_url(published))

    assert response["Cache-Control"] == "private, no-cache"


def test_anonymous_public_pages_keep_their_caching(published: Ranking, admin: User) -> None:
    client = Client()
    public = _public_url(published)

    first = client.get(public)
    assert first["Cache-Control"] == "private, no-cache"
    assert client.get(public, headers={"If-None-Match": first["ETag"]}).status_code == 304

    index = client.get(reverse("rankings:index"))
    assert "Cache-Control" not in index
    assert (
        client.get(reverse("rankings:index"), headers={"If-None-Match": index["ETag"]}).status_code
        == 304
    )

    # A signed-in reader's index is another page, never stored.
    assert "no-store" in client_for(admin).get(reverse("rankings:index"))["Cache-Control"]


@pytest.fixture
def https_only(settings: Settings) -> Settings:
    """The production HTTPS settings (the suite runs with the development ones)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    return settings


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_but_health_probes_are_answered(
    https_only: Settings,
) -> None:
    client = Client()

    redirected = client.get("/login/?next=/assessments/")
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://testserver/login/?next=/assessments/"
    # Load balancers probe over plain http inside the network.
    assert client.get("/healthz").status_code in {200, 503}
    assert "Strict-Transport-Security" not in client.get("/healthz")


@pytest.mark.django_db
def test_https_responses_tell_the_browser_to_use_nothing_else_for_a_year(
    https_only: Settings,
) -> None:
    response = Client().get("/login/", secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_a_client_cannot_claim_https_without_a_configured_proxy(https_only: Settings) -> None:
    https_only.SECURE_PROXY_SSL_HEADER = None
    claimed = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert claimed.status_code == 301

    # Behind proxies (TRUSTED_PROXY_COUNT > 0) the proxy's header is believed.
    https_only.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200
    assert "Strict-Transport-Security" in proxied
