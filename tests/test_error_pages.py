"""The error pages (400, 403, 404, 500 and the CSRF failure) are the portal's own, in the
user's language, with DEBUG off; the 500 page needs neither the database nor a request."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.test import Client
from django.urls import include, path
from pytest_django import DjangoAssertNumQueries, Settings

from accounts.models import User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _bad(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("a forged value")


def _denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the portal failed")


urlpatterns = [
    path("test-errors/400/", _bad),
    path("test-errors/403/", _denied),
    path("test-errors/500/", _boom),
    path("", include("govcloud_eval.urls")),
]


@pytest.fixture(autouse=True)
def _production(settings: Settings) -> None:
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__


def _in(language: str, client: Client | None = None) -> Client:
    client = client or Client(raise_request_exception=False)
    client.cookies["django_language"] = language
    return client


def _page(client: Client, url: str, status: int) -> str:
    response = client.get(url)
    assert response.status_code == status
    html = response.content.decode()
    assert 'data-testid="error-page"' in html
    assert 'class="site-header"' in html  # the portal's layout, not Django's bare page
    assert "css/app.css" in html
    return html


@pytest.mark.parametrize(
    ("url", "status", "english"),
    [
        ("/test-errors/400/", 400, "Bad request"),
        ("/test-errors/403/", 403, "Not allowed"),
        ("/no-such-page/", 404, "Page not found"),
        ("/test-errors/500/", 500, "Something went wrong"),
    ],
)
def test_each_error_page_is_the_portals_own_in_english(url: str, status: int, english: str) -> None:
    html = _page(_in("en"), url, status)
    assert '<html lang="en"' in html
    assert english in html
    assert "Government cloud evaluation" in html


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/test-errors/400/", 400),
        ("/test-errors/403/", 403),
        ("/no-such-page/", 404),
        ("/test-errors/500/", 500),
    ],
)
def test_each_error_page_is_in_chinese_by_default(url: str, status: int) -> None:
    html = _page(_in("zh-hans"), url, status)
    assert '<html lang="zh-CN"' in html
    assert "政务云评估" in html  # the portal's name, translated


def test_a_signed_in_user_keeps_the_menu_on_a_404(admin: User) -> None:
    html = _page(_in("en", client_for(admin)), "/no-such-page/", 404)
    assert "Sign out" in html
    assert 'aria-label="Main navigation"' in html


def test_the_500_page_renders_without_a_request_or_the_database(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_num_queries(0):
        html = loader.get_template("500.html").render()
    assert "500" in html
    assert 'href="/"' in html


def test_a_form_sent_without_its_csrf_token_gets_the_portals_page_in_the_users_language() -> None:
    client = _in("en", Client(enforce_csrf_checks=True))
    response = client.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-testid="error-page"' in html
    assert "The form has expired" in html
    assert '<html lang="en"' in html
    assert "CSRF" not in html  # Django's own page says "CSRF verification failed"


def test_the_csrf_page_is_chinese_by_default() -> None:
    client = _in("zh-hans", Client(enforce_csrf_checks=True))
    response = client.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    html = response.content.decode()
    assert '<html lang="zh-CN"' in html
    assert 'data-testid="error-page"' in html
